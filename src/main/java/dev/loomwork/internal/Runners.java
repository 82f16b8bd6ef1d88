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
        log.info(
            "loomwork runs attempts on plain virtual threads (fallback runner): StructuredTaskScope is"
                + " unavailable ({}); run on JDK 25 with --enable-preview to use it",
            e.toString());
        return new VirtualThreadRunner();
      }
    }
  }
}
