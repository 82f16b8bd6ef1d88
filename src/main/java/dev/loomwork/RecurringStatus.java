package dev.loomwork;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link RecurringTask} looks like now, from {@link RecurringTasks#status(String)}.
 *
 * @param name the recurring task's name
 * @param schedule its schedule (a durable one's, as the store holds it)
 * @param handler the handler name of the tasks it makes
 * @param paused whether it is paused
 * @param nextRun its next tick, or null if it has none yet (not started, a fixed delay whose task
 *     runs, or an expression with no further tick)
 * @param lastRun the scheduled time of the last tick handled (run or skipped), or null if none yet
 */
public record RecurringStatus(
    String name,
    Schedule schedule,
    String handler,
    boolean paused,
    @Nullable Instant nextRun,
    @Nullable Instant lastRun) {}
