package dev.loomwork.admin;

import dev.loomwork.TaskState;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Which tasks a list, a count or a bulk retry is about: every condition set must hold; an unset one
 * (null, or no states) matches every task. Immutable; start from {@link #all()} and narrow it with
 * the with-ers, each of which checks its argument at once and returns a new filter:
 *
 * <pre>{@code
 * TaskFilter failedEmails = TaskFilter.all()
 *     .withQueue("email")
 *     .withStates(TaskState.FAILED)
 *     .withErrorContains("timed out");
 * }</pre>
 *
 * @param queue the queue's name, or null for every queue
 * @param states the states, or empty for every state; {@code READY} means due now, {@code WAITING}
 *     not yet due (a not-before time or a retry's backoff). Never {@code NEW}
 * @param handler the handler's name, or null for every handler
 * @param createdFrom tasks created at or after this time, or null
 * @param createdBefore tasks created before this time, or null
 * @param errorContains text that the last error's type or message contains, ignoring case, or null.
 *     A task that never failed has no last error and does not match
 */
public record TaskFilter(
    @Nullable String queue,
    Set<TaskState> states,
    @Nullable String handler,
    @Nullable Instant createdFrom,
    @Nullable Instant createdBefore,
    @Nullable String errorContains) {

  /** The longest {@code errorContains} text accepted. */
  public static final int MAX_ERROR_TEXT = 200;

  private static final TaskFilter ALL = new TaskFilter(null, Set.of(), null, null, null, null);

  /**
   * Checks every component.
   *
   * @throws IllegalArgumentException if {@code queue}, {@code handler} or {@code errorContains} is
   *     blank, {@code errorContains} is longer than {@value #MAX_ERROR_TEXT} characters, {@code
   *     states} holds {@code NEW}, or {@code createdFrom} is not before {@code createdBefore}
   */
  public TaskFilter {
    notBlank(queue, "queue");
    notBlank(handler, "handler");
    notBlank(errorContains, "errorContains");
    if (errorContains != null && errorContains.length() > MAX_ERROR_TEXT) {
      throw new IllegalArgumentException(
          "errorContains: " + errorContains.length() + " characters (expected: at most " + MAX_ERROR_TEXT + ")");
    }
    Objects.requireNonNull(states, "states");
    for (TaskState s : states) {
      if (Objects.requireNonNull(s, "states: null element") == TaskState.NEW) {
        throw new IllegalArgumentException("states: NEW (expected: a state of an enqueued task)");
      }
    }
    states = states.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(states));
    if (createdFrom != null && createdBefore != null && !createdFrom.isBefore(createdBefore)) {
      throw new IllegalArgumentException(
          "createdFrom: " + createdFrom + " (expected: before createdBefore " + createdBefore + ")");
    }
  }

  /**
   * The filter that matches every task.
   *
   * @return the filter with no condition
   */
  public static TaskFilter all() {
    return ALL;
  }

  /**
   * Returns this filter, narrowed to one queue.
   *
   * @param queue the queue's name, or null for every queue
   * @return the new filter
   * @throws IllegalArgumentException if {@code queue} is blank
   */
  public TaskFilter withQueue(@Nullable String queue) {
    return new TaskFilter(queue, states, handler, createdFrom, createdBefore, errorContains);
  }

  /**
   * Returns this filter, narrowed to some states.
   *
   * @param states the states; none for every state
   * @return the new filter
   * @throws IllegalArgumentException if {@code states} holds {@code NEW}
   */
  public TaskFilter withStates(TaskState... states) {
    return new TaskFilter(queue, Set.copyOf(Arrays.asList(states)), handler, createdFrom, createdBefore, errorContains);
  }

  /**
   * Returns this filter, narrowed to one handler.
   *
   * @param handler the handler's name, or null for every handler
   * @return the new filter
   * @throws IllegalArgumentException if {@code handler} is blank
   */
  public TaskFilter withHandler(@Nullable String handler) {
    return new TaskFilter(queue, states, handler, createdFrom, createdBefore, errorContains);
  }

  /**
   * Returns this filter, narrowed to tasks created in {@code [from, before)}.
   *
   * @param from the first instant, or null for no lower bound
   * @param before the instant after the last, or null for no upper bound
   * @return the new filter
   * @throws IllegalArgumentException if both are set and {@code from} is not before {@code before}
   */
  public TaskFilter withCreated(@Nullable Instant from, @Nullable Instant before) {
    return new TaskFilter(queue, states, handler, from, before, errorContains);
  }

  /**
   * Returns this filter, narrowed to tasks whose last error's type or message contains {@code
   * text}, ignoring case.
   *
   * @param text the text, or null for no condition
   * @return the new filter
   * @throws IllegalArgumentException if {@code text} is blank or longer than {@value
   *     #MAX_ERROR_TEXT} characters
   */
  public TaskFilter withErrorContains(@Nullable String text) {
    return new TaskFilter(queue, states, handler, createdFrom, createdBefore, text);
  }

  private static void notBlank(@Nullable String value, String what) {
    if (value != null && value.isBlank()) {
      throw new IllegalArgumentException(what + ": '" + value + "' (expected: null or not blank)");
    }
  }
}
