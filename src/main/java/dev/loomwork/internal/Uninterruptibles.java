package dev.loomwork.internal;

/**
 * Waits that an interrupt does not end: the caller must see the thing it waits for finish (a thread
 * that writes the last outcomes, a scheduler that may still publish), so an interrupt is remembered
 * and restored on return, never swallowed.
 */
final class Uninterruptibles {
  private Uninterruptibles() {}

  /** Something that waits and may be interrupted; returns whether it is done waiting. */
  @FunctionalInterface
  interface Wait {
    boolean await() throws InterruptedException;
  }

  /**
   * Runs {@code wait} until it returns true, however often it is interrupted; the interrupt flag is
   * set again on return if it was interrupted meanwhile.
   */
  static void await(Wait wait) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          if (wait.await()) {
            return;
          }
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Joins {@code thread}, however often the caller is interrupted meanwhile. */
  static void join(Thread thread) {
    await(() -> {
      thread.join();
      return true;
    });
  }
}
