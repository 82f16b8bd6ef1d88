package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Interrupting the thread in {@code run()} cancels the whole queue (DESIGN.md section 1, "Parent
 * scopes"): every running attempt is interrupted, every pending or waiting task is cancelled, and
 * {@code run()} returns with the thread's interrupt status set.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a safety net against hangs, not a timing assertion
class ParentInterruptTest {

  @Test
  void interruptingTheThreadInRunCancelsEveryTaskAndReturns() throws Exception {
    try (CancelScenario s = new CancelScenario("parent-interrupt")) {
      Thread owner =
          s.startOwner(
              "parent-interrupt-owner",
              () -> {
                try {
                  s.runQueue();
                } catch (RuntimeException | Error e) {
                  // recorded by runQueue; assertCancelledAndReturned reports it
                }
              });
      s.awaitInPlace();
      assertEquals(TaskState.WAITING, s.waiting.state());
      for (Task<?> t : s.pending) {
        assertEquals(TaskState.READY, t.state(), t::toString);
      }

      owner.interrupt();
      owner.join(GENEROUS);

      assertFalse(owner.isAlive(), "run() returned after its thread was interrupted");
      s.assertCancelledAndReturned();
      assertTrue(s.queue.isShutdown());
      RejectedExecutionException e =
          assertThrows(RejectedExecutionException.class, () -> s.queue.submit(ctx -> {}));
      assertTrue(e.getMessage().contains("parent-interrupt"), e::getMessage);
    }
  }
}
