package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.StructuredTaskScope;
import java.util.concurrent.StructuredTaskScope.Joiner;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code parentScope.fork(queue::run)} ties the queue's life to a parent {@link StructuredTaskScope}
 * (DESIGN.md section 1, "Parent scopes"): cancelling the parent interrupts {@code run()}, which cancels
 * every task and returns. Uses the JDK 25 preview API, so it runs only in the preview execution.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a safety net against hangs, not a timing assertion
class StructuredParentScopeTest {

  @Test
  void interruptingTheParentScopeOwnerCancelsTheQueue() throws Exception {
    CompletableFuture<Throwable> joinOutcome = new CompletableFuture<>();
    CompletableFuture<Void> scopeClosed = new CompletableFuture<>();
    try (CancelScenario s = new CancelScenario("parent-owner-interrupted")) {
      Thread owner =
          s.startOwner(
              "parent-scope-owner",
              () -> {
                try (StructuredTaskScope<Object, Void> scope =
                    StructuredTaskScope.open(Joiner.awaitAll())) {
                  scope.fork(s::runQueue);
                  try {
                    scope.join();
                    joinOutcome.complete(null);
                  } catch (Throwable e) {
                    joinOutcome.complete(e);
                  }
                } // close() cancels the scope, interrupting run(), and waits for it
                catch (Throwable e) {
                  scopeClosed.completeExceptionally(e);
                }
                scopeClosed.complete(null);
              });
      s.awaitInPlace();

      owner.interrupt(); // the owner is blocked in scope.join()
      owner.join(GENEROUS);

      assertFalse(owner.isAlive(), "the parent scope closed");
      assertInstanceOf(InterruptedException.class, joinOutcome.getNow(null));
      scopeClosed.getNow(null); // close() did not throw
      s.assertCancelledAndReturned();
    }
  }

  @Test
  void aFailingSiblingCancelsTheParentScopeAndTheQueue() throws Exception {
    try (CancelScenario s = new CancelScenario("parent-sibling-failed")) {
      IllegalStateException boom = new IllegalStateException("sibling failed");
      Callable<Object> failingSibling =
          () -> {
            s.awaitInPlace();
            throw boom;
          };
      try (StructuredTaskScope<Object, Void> scope =
          StructuredTaskScope.open(Joiner.awaitAllSuccessfulOrThrow())) {
        scope.fork(s::runQueue);
        scope.fork(failingSibling);
        StructuredTaskScope.FailedException e =
            assertThrows(StructuredTaskScope.FailedException.class, scope::join);
        assertEquals(boom, e.getCause());
      } // close() waits for run() to return
      s.assertCancelledAndReturned();
    }
  }
}
