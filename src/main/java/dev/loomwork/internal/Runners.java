package dev.loomwork.internal;

import org.slf4j.Logger;

/**
 * Chooses the {@link Runner}: the structured one when {@code StructuredTaskScope} can be used (JDK 25
 * with {@code --enable-preview}), the virtual-thread fallback otherwise.
 */
public final class Runners {
  private static final Logger log = Log.LOG;

  private Runners() {}

  /**
   * Returns the runner for this JVM, chosen once. The return type is the interface on purpose: a class
   * return type would make the verifier load {@code StructuredRunner} while verifying this method.
   *
   * @return the runner
   */
  public static Runner selected() {
    return Holder.RUNNER;
  }

  private static final class Holder {
    static final Runner RUNNER = choose();

    private static Runner choose() {
      try {
        // A class file that uses a preview API loads only with --enable-preview on its exact release.
        Class<?> structured = Class.forName("dev.loomwork.internal.StructuredRunner");
        Runner runner = (Runner) structured.getDeclaredConstructor().newInstance();
        log.info("loomwork runs attempts in StructuredTaskScopes (structured runner)");
        return runner;
      } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
        // One plain sentence for production logs; why the preview class did not load is detail.
        log.info(
            "loomwork runs attempts on plain virtual threads (fallback runner); start the JVM with"
                + " --enable-preview on JDK 25 to run them in StructuredTaskScopes");
        log.debug("loomwork: the structured runner could not load", e);
        return new VirtualThreadRunner();
      }
    }
  }
}
