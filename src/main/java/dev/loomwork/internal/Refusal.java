package dev.loomwork.internal;

/**
 * Why {@link QueueState#admit} did not accept a task.
 *
 * <p>A refusal that counts as rejected and came before the queue terminated ({@code SHUT_DOWN}, a
 * counted {@code FULL}) has taken a part in delivering events ({@link Publisher#enter}) under the
 * queue's lock, which {@link Publisher#rejected} gives up once its {@code onRejected} is out: so that
 * event comes before onTerminated, however late the producer wakes. {@code TERMINATED} is a refusal
 * after the queue terminated: counted (as {@code SHUT_DOWN} in the meters), thrown, and no event.
 */
enum Refusal {
  SHUT_DOWN,
  TERMINATED,
  FULL,
  INTERRUPTED,
  DUPLICATE
}
