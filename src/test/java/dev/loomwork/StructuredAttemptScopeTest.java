package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.StructuredTaskScope;
import java.util.concurrent.StructuredTaskScope.Joiner;
import java.util.concurrent.StructuredTaskScope.Subtask;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Both attempt shapes ({@link AttemptScope}) keep the semantics: the body's own structured subtasks
 * see the {@link TaskContext}, and a cut (cancel, timeout, shutdown) interrupts the body and,
 * through its scope, every subtask it forked. Uses the preview API, so it runs only in the preview
 * execution, where the structured runner is in use.
 */
class StructuredAttemptScopeTest {
  @RegisterExtension final QueueFixture fx = new QueueFixture();

  /** A body that forks one subtask, which waits on {@code release}, and reports what it saw. */
  static final class ForkingBody implements Work {
    final CountDownLatch subtaskStarted = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch subtaskInterrupted = new CountDownLatch(1);
    volatile String taskSeenBySubtask = "";

    @Override
    public void run(TaskContext ctx) throws Exception {
      try (var scope = StructuredTaskScope.open(Joiner.<Object>awaitAllSuccessfulOrThrow())) {
        Subtask<Object> sub =
            scope.fork(
                () -> {
                  taskSeenBySubtask = TaskContext.current().taskName();
                  subtaskStarted.countDown();
                  try {
                    release.await();
                  } catch (InterruptedException e) {
                    subtaskInterrupted.countDown();
                    throw e;
                  }
                  return "done";
                });
        scope.join();
        sub.get();
      }
    }
  }

  private WorkQueue queue(AttemptScope shape) {
    return fx.started(
        WorkQueue.builder("shape-" + shape).attemptScope(shape).retryPolicy(RetryPolicy.noRetries()));
  }

  @ParameterizedTest
  @EnumSource(AttemptScope.class)
  void subtasksSeeTheContextAndRunToTheEnd(AttemptScope shape) throws Exception {
    ForkingBody body = new ForkingBody();
    WorkQueue queue = queue(shape);
    Task<?> task = queue.enqueue(Task.of(body).named("forks"));
    QueueFixture.await(body.subtaskStarted, "subtask started");
    body.release.countDown();
    task.await(GENEROUS);
    assertEquals("forks", body.taskSeenBySubtask);
    assertTrue(queue.toString().contains("runner=structured"), queue::toString);
  }

  @ParameterizedTest
  @EnumSource(AttemptScope.class)
  void aCancelInterruptsTheBodysSubtasks(AttemptScope shape) throws Exception {
    ForkingBody body = new ForkingBody();
    Task<?> task = queue(shape).enqueue(Task.of(body));
    QueueFixture.await(body.subtaskStarted, "subtask started");
    assertTrue(task.cancel());
    QueueFixture.await(body.subtaskInterrupted, "subtask interrupted");
    assertThrows(CancellationException.class, () -> task.await(GENEROUS));
    assertEquals(TaskState.CANCELLED, task.state());
  }

  @ParameterizedTest
  @EnumSource(AttemptScope.class)
  void aTimeoutInterruptsTheBodysSubtasks(AttemptScope shape) throws Exception {
    ForkingBody body = new ForkingBody();
    Task<?> task = queue(shape).enqueue(Task.of(body).attemptTimeout(Duration.ofMillis(50)));
    QueueFixture.await(body.subtaskInterrupted, "subtask interrupted at the timeout");
    assertInstanceOf(AttemptTimeoutException.class, QueueFixture.failureOf(task));
  }

  @ParameterizedTest
  @EnumSource(AttemptScope.class)
  void aCuttingShutdownInterruptsTheBodysSubtasks(AttemptScope shape) throws Exception {
    ForkingBody body = new ForkingBody();
    WorkQueue queue = queue(shape);
    Task<?> task = queue.enqueue(Task.of(body).named("cut"));
    QueueFixture.await(body.subtaskStarted, "subtask started");
    ShutdownReport report = queue.shutdownNow();
    QueueFixture.await(body.subtaskInterrupted, "subtask interrupted by the shutdown");
    assertEquals(TaskState.CANCELLED, task.state());
    assertEquals("cut", report.cancelled().getFirst().name());
    assertTrue(report.abandoned().isEmpty());
  }
}
