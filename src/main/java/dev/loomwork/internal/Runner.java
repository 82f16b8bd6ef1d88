package dev.loomwork.internal;

import java.util.concurrent.Callable;
import java.util.concurrent.ThreadFactory;
import org.jspecify.annotations.Nullable;

/**
 * The seam between the engine and the thread structure attempts run in. Two implementations: {@link
 * StructuredRunner}, the only class that touches the preview {@code StructuredTaskScope} API, and
 * {@link VirtualThreadRunner}, the fallback with the same semantics. {@link Runners#selected()} picks
 * one; its return type is this interface so that the verifier never loads the preview class outside
 * the try/catch that guards it.
 */
public interface Runner {

  /**
   * Returns the runner's name for logs and tests: {@code "structured"} or {@code "virtual"}.
   *
   * @return the name
   */
  String name();

  /**
   * Opens the queue's scope, owned by the calling thread (the thread in {@code WorkQueue.run()}).
   *
   * @param name the scope's name
   * @param threadFactory makes the attempt threads
   * @return the scope
   */
  QueueScope openQueueScope(String name, ThreadFactory threadFactory);

  /**
   * Runs one attempt's body, on the attempt thread. The structured runner opens a nested scope and
   * forks the body into it, so interrupting the calling thread cancels that scope and, through it, the
   * body and everything the body forked. The fallback runs the body on the calling thread.
   *
   * @param threadFactory makes the body's thread, where the runner makes one
   * @param body the body
   * @param <T> the result type
   * @return the body's result
   * @throws Exception whatever the body threw (unwrapped), or {@link InterruptedException} if the
   *     calling thread was interrupted while waiting for the body
   */
  <T extends @Nullable Object> T runAttempt(ThreadFactory threadFactory, Callable<T> body)
      throws Exception;

  /**
   * The scope all of a queue's attempts are forked into. Every method must be called by the thread
   * that opened it.
   */
  interface QueueScope extends AutoCloseable {

    /**
     * Starts {@code attempt} on a new thread in this scope.
     *
     * @param attempt the attempt; it must not throw
     * @throws java.util.concurrent.RejectedExecutionException if the thread factory made no thread
     */
    void fork(Runnable attempt);

    /**
     * Waits until every forked attempt has ended.
     *
     * @throws InterruptedException if interrupted while waiting; {@link #close()} then cancels
     */
    void join() throws InterruptedException;

    /** Interrupts the attempts still running, if any, and waits for them to end. */
    @Override
    void close();
  }
}
