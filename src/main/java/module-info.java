import org.jspecify.annotations.NullMarked;

/**
 * loomwork: an in-process work queue on virtual threads and structured concurrency.
 *
 * <p>Only {@code dev.loomwork} is exported; the engine lives in {@code dev.loomwork.internal}.
 */
@NullMarked
module dev.loomwork {
  requires org.slf4j;
  requires transitive micrometer.core;
  requires static transitive org.jspecify;

  exports dev.loomwork;
}
