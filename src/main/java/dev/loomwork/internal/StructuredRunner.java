package dev.loomwork.internal;

import java.util.concurrent.Callable;
import java.util.concurrent.StructuredTaskScope;
import java.util.concurrent.StructuredTaskScope.Joiner;
import java.util.concurrent.StructuredTaskScope.Subtask;
import java.util.concurrent.ThreadFactory;
import org.jspecify.annotations.Nullable;

/**
 * The runner built on {@link StructuredTaskScope} (JDK 25 preview, JEP 505). This is the only class in
 * loomwork that uses the preview API; it is loaded reflectively by {@link Runners}, and only when the
 * JVM allows it.
 *
 * <p>The queue's scope uses {@link Joiner#awaitAll()}: attempts never fail (the engine catches
 * everything), and that joiner keeps no reference to finished subtasks, so the scope can live as long
 * as the queue. Each attempt thread opens a nested scope with the default joiner and forks the body
 * into it; interrupting the attempt thread makes its {@code join} throw, and closing the nested scope
 * then interrupts the body and waits for it.
 */
final class StructuredRunner implements Runner {

  StructuredRunner() {}

  @Override
  public String name() {
    return "structured";
  }

  @Override
  public QueueScope openQueueScope(String name, ThreadFactory threadFactory) {
    StructuredTaskScope<Object, Void> scope =
        StructuredTaskScope.open(
            Joiner.awaitAll(), config -> config.withThreadFactory(threadFactory).withName(name));
    return new QueueScope() {
      @Override
      public void fork(Runnable attempt) {
        scope.fork(attempt);
      }

      @Override
      public void join() throws InterruptedException {
        scope.join();
      }

      @Override
      public void close() {
        scope.close();
      }
    };
  }

  @Override
  public <T extends @Nullable Object> T runAttempt(ThreadFactory threadFactory, Callable<T> body)
      throws Exception {
    try (var scope =
        StructuredTaskScope.open(
            Joiner.<T>awaitAllSuccessfulOrThrow(), config -> config.withThreadFactory(threadFactory))) {
      Subtask<T> subtask = scope.fork(body);
      scope.join();
      return subtask.get();
    } catch (StructuredTaskScope.FailedException e) {
      throw Throwables.rethrow(e.getCause());
    }
  }
}
