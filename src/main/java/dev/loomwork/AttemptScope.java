package dev.loomwork;

/**
 * How an attempt sits in the queue's {@code StructuredTaskScope}, with the structured runner. Both
 * shapes keep the same semantics: every attempt runs on its own virtual thread inside the queue's
 * scope, with its {@link TaskContext} bound; a cut (timeout, deadline, cancel, shutdown) interrupts
 * the body, which cancels every scope the body opened and so everything it forked; cancelling the
 * queue's owner cancels every attempt. The fallback runner (no {@code --enable-preview}) has one
 * shape, {@link #SHARED}'s.
 */
public enum AttemptScope {
  /**
   * The attempt's thread is forked straight into the queue's scope and runs the body itself; a cut
   * interrupts that thread. One virtual thread per attempt. The default: measured 1.9× as fast as
   * {@link #NESTED} on no-op tasks and 1.6× on I/O-bound ones (see docs/benchmarks.md).
   */
  SHARED,

  /**
   * The attempt's thread opens a scope of its own and forks the body into it, so each attempt is a
   * scope in the queue's scope; a cut interrupts the attempt's thread, whose scope then cancels the
   * body. Two virtual threads per attempt.
   */
  NESTED
}
