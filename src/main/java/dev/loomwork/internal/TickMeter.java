package dev.loomwork.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The meter {@code loomwork.schedule.ticks}: ticks by recurring task and outcome ({@code enqueued}, a
 * task was made; {@code skipped}, a missed tick its policy dropped; {@code rejected}, the queue
 * refused the task). {@link #NONE} without a registry; the Micrometer class loads only with one.
 */
public interface TickMeter {
  /** The outcomes. */
  List<String> OUTCOMES = List.of("enqueued", "skipped", "rejected");

  /** Counts {@code n} ticks of {@code schedule} with {@code outcome}. Never throws. */
  void count(String schedule, String outcome, long n);

  TickMeter NONE = (schedule, outcome, n) -> {};

  /** A meter on {@code registry} (an {@code io.micrometer.core.instrument.MeterRegistry}). */
  static TickMeter of(Object registry, String queue, List<String> schedules) {
    return new Micrometer((MeterRegistry) registry, queue, schedules);
  }

  /** Counters registered up front for each declared schedule and outcome. */
  final class Micrometer implements TickMeter {
    private final MeterRegistry registry;
    private final String queue;
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();

    Micrometer(MeterRegistry registry, String queue, List<String> schedules) {
      this.registry = registry;
      this.queue = queue;
      for (String s : schedules) {
        for (String o : OUTCOMES) {
          counter(s, o);
        }
      }
    }

    private Counter counter(String schedule, String outcome) {
      return counters.computeIfAbsent(
          schedule + '\n' + outcome,
          k ->
              Counter.builder("loomwork.schedule.ticks")
                  .description("Ticks of recurring tasks, by outcome")
                  .tag("queue", queue)
                  .tag("schedule", schedule)
                  .tag("outcome", outcome)
                  .register(registry));
    }

    @Override
    public void count(String schedule, String outcome, long n) {
      if (n <= 0) {
        return;
      }
      try {
        counter(schedule, outcome).increment(n);
      } catch (RuntimeException e) {
        Log.LOG.warn("queue '{}': could not count ticks of '{}'", queue, schedule, e);
      }
    }
  }
}
