package dev.loomwork;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A task that runs on a {@link Schedule}: each tick enqueues a typed task of {@link #type()} with
 * {@link #payload()}, named after the recurring task, which runs with that type's handler, retry
 * policy, attempt timeout and the queue's listeners, and whose {@link TaskContext#scheduledAt()} is
 * the tick's time. Declare it on the queue's builder with {@link
 * WorkQueue.Builder#recurring(RecurringTask)}; manage it by name with {@link WorkQueue#recurring()}.
 *
 * <pre>{@code
 * WorkQueue queue = WorkQueue.builder("maintenance")
 *     .handle(CLEAN_UP, (ctx, days) -> sessions.deleteOlderThan(days, ctx.scheduledAt()))
 *     .recurring(RecurringTask.of("nightly-clean-up",
 *         Schedule.cron("30 2 * * *", ZoneId.of("Europe/Berlin")), CLEAN_UP, 30))
 *     .build();
 * }</pre>
 *
 * <p>On a durable queue ({@link WorkQueue.Builder#store}), the declaration is written to the store
 * when the queue starts, every process declares the same ones, and each tick becomes exactly one task
 * whatever the number of processes. Immutable and thread-safe; the with-ers return copies.
 *
 * @param <P> the payload type
 */
public final class RecurringTask<P extends @Nullable Object> {
  /** The default {@link #lateTolerance(Duration) late tolerance}: 10 s. */
  public static final Duration DEFAULT_LATE_TOLERANCE = Duration.ofSeconds(10);

  private final String name;
  private final Schedule schedule;
  private final TaskType<P> type;
  private final P payload;
  private final String payloadJson;
  private final MissedTicks missedTicks;
  private final Duration lateTolerance;

  private RecurringTask(
      String name,
      Schedule schedule,
      TaskType<P> type,
      P payload,
      String payloadJson,
      MissedTicks missedTicks,
      Duration lateTolerance) {
    this.name = name;
    this.schedule = schedule;
    this.type = type;
    this.payload = payload;
    this.payloadJson = payloadJson;
    this.missedTicks = missedTicks;
    this.lateTolerance = lateTolerance;
  }

  /**
   * Declares a recurring task. The payload is encoded now, so a codec error reaches this call.
   *
   * @param name the recurring task's name, unique on its queue, and the name of the tasks it makes;
   *     not blank, at most 200 characters, no control characters
   * @param schedule when it runs
   * @param type the type of the tasks it makes; the queue must register a handler for it
   * @param payload the payload of each of them
   * @param <P> the payload type
   * @return the declaration, with {@link MissedTicks#runOnce()} and a 10 s late tolerance
   * @throws NullPointerException if {@code name}, {@code schedule} or {@code type} is null
   * @throws IllegalArgumentException if {@code name} is blank, too long or has control characters
   * @throws TaskCodecException if the type's codec could not encode {@code payload} (an unchecked
   *     exception of the codec reaches the caller as it is)
   */
  public static <P extends @Nullable Object> RecurringTask<P> of(
      String name, Schedule schedule, TaskType<P> type, P payload) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(schedule, "schedule");
    Objects.requireNonNull(type, "type");
    if (name.isBlank() || name.length() > 200 || name.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException(
          "name: '" + name + "' (expected: not blank, at most 200 characters, no control characters)");
    }
    String json;
    try {
      json = type.codec().encode(payload);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new TaskCodecException(
          "recurring task '" + name + "': handler '" + type.handler()
              + "': the codec could not encode the payload", e);
    }
    if (json == null) {
      throw new TaskCodecException(
          "recurring task '" + name + "': handler '" + type.handler()
              + "': the codec encoded the payload as null", null);
    }
    return new RecurringTask<>(
        name, schedule, type, payload, json, MissedTicks.runOnce(), DEFAULT_LATE_TOLERANCE);
  }

  /**
   * Returns a copy with another policy for missed ticks.
   *
   * @param policy the policy
   * @return the copy
   * @throws NullPointerException if {@code policy} is null
   */
  public RecurringTask<P> missedTicks(MissedTicks policy) {
    Objects.requireNonNull(policy, "policy");
    return new RecurringTask<>(name, schedule, type, payload, payloadJson, policy, lateTolerance);
  }

  /**
   * Returns a copy with another late tolerance: a tick that runs later than this after its time is
   * logged at WARN, and a tick due longer ago than this when it is looked at is missed, which its
   * {@link #missedTicks(MissedTicks) policy} decides.
   *
   * @param tolerance positive
   * @return the copy
   * @throws NullPointerException if {@code tolerance} is null
   * @throws IllegalArgumentException if {@code tolerance} is not positive
   */
  public RecurringTask<P> lateTolerance(Duration tolerance) {
    Objects.requireNonNull(tolerance, "tolerance");
    if (tolerance.isNegative() || tolerance.isZero()) {
      throw new IllegalArgumentException("tolerance: " + tolerance + " (expected: > 0)");
    }
    return new RecurringTask<>(name, schedule, type, payload, payloadJson, missedTicks, tolerance);
  }

  /** {@return the name} */
  public String name() {
    return name;
  }

  /** {@return the schedule} */
  public Schedule schedule() {
    return schedule;
  }

  /** {@return the type of the tasks it makes} */
  public TaskType<P> type() {
    return type;
  }

  /** {@return the payload of the tasks it makes} */
  public P payload() {
    return payload;
  }

  /** {@return the payload as its codec encoded it} */
  public String payloadJson() {
    return payloadJson;
  }

  /** {@return the policy for missed ticks} */
  public MissedTicks missedTicks() {
    return missedTicks;
  }

  /** {@return the late tolerance} */
  public Duration lateTolerance() {
    return lateTolerance;
  }

  @Override
  public String toString() {
    return "RecurringTask[" + name + ", " + schedule + ", " + type.handler() + ", " + missedTicks
        + ", tolerance " + lateTolerance + "]";
  }
}
