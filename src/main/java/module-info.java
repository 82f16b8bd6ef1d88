import org.jspecify.annotations.NullMarked;

/**
 * loomwork: an in-process work queue on virtual threads and structured concurrency.
 *
 * <p>{@code dev.loomwork} is the API; the engine lives in {@code dev.loomwork.internal}, which is not
 * exported. {@code dev.loomwork.postgres} is the PostgreSQL store: it needs the PostgreSQL JDBC
 * driver, an optional dependency ({@code requires static}), so in-memory users carry nothing new.
 */
@NullMarked
module dev.loomwork {
  requires org.slf4j;
  requires transitive micrometer.core;
  requires static transitive org.jspecify;
  // The PostgreSQL store's public signatures use javax.sql.DataSource.
  requires transitive java.sql;
  requires static org.postgresql.jdbc;

  exports dev.loomwork;
  exports dev.loomwork.postgres;
}
