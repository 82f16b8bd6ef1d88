package dev.loomwork.bench;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Timer lateness under load: how late a retry becomes ready, and how late it starts, after its
 * backoff is due, with {@code tasks} tasks waiting out their backoff at once (100, 10,000, 100,000).
 *
 * <p><b>One round.</b> {@code tasks} tasks are submitted to a queue whose concurrency and capacity
 * are both {@code tasks}, so that all of them are in flight together. Each first attempt parks on a
 * gate; once all of them have started, the gate opens and every first attempt fails at once. Each
 * task's retry is then due after a fixed {@value #BACKOFF_MS} ms backoff ({@link
 * dev.loomwork.Backoff#fixed}, no jitter), and its second attempt succeeds. So the scheduler holds up
 * to {@code tasks} timers that come due within a short burst (the failures themselves take time to
 * process: at 100,000 tasks, the first retries may be due before the last failures are handled,
 * which is the load the issue describes). For every task:
 *
 * <ul>
 *   <li><b>due → ready</b> = the moment the task was ready again − its due time: the timer's own
 *       lateness.
 *   <li><b>due → start</b> = the first line of the second attempt's body − its due time: what a user
 *       sees (timer, dispatch, thread start; in the structured runner also the fork of the body
 *       into the attempt's own scope).
 * </ul>
 *
 * <p><b>How the moments are taken</b>, with the public API only and one time base, {@link
 * System#nanoTime()}. loomwork ({@link TimerLatenessStructured}, {@link TimerLatenessFallback}): the
 * queue's {@code clock} is an {@code InstantSource} over {@code System.nanoTime()}, so the {@code
 * nextAttemptAt} that {@code WorkQueueListener.onRetryScheduled} reports converts back to nanoTime
 * exactly; it is {@code clock.instant() + backoff}, read just before the engine arms its timer.
 * {@code onAttemptStarted(task, 2, waited)} runs on the attempt thread right after the engine reads
 * the attempt's start time, and {@code waited} is that start time minus the time the engine filed
 * the task in the ready deque ({@code Publisher.started}: {@code nowNanos - t.readyAtNanos};
 * {@code readyAtNanos} is set in {@code MemoryStore.fileReady} when the store's alarm moves the task
 * back). So
 * ready = (nanoTime at the listener call) − waited; it over-states the ready moment by the few
 * instructions between the engine's clock read and the listener call, against loomwork. The
 * baseline ({@link TimerLatenessBaseline}): a {@code ScheduledThreadPoolExecutor} with one thread, as
 * loomwork's scheduler; the failing first attempt takes due = nanoTime + backoff and calls {@code
 * schedule(action, backoff)}; ready = the first line of the action, which starts a virtual thread
 * for the second attempt; start = the first line of that thread. A lateness below zero fails the
 * benchmark (it would mean the two clocks disagree).
 *
 * <p><b>How the figures are reported.</b> Mode {@code avgt}, one round per invocation: the primary
 * score is the mean time of a whole round, in ms (not the figure of interest). The lateness figures
 * are {@link AuxCounters} of type {@code EVENTS}: {@code readyP50Us}, {@code readyP99Us}, {@code
 * startP50Us}, {@code startP99Us} (microseconds, nearest-rank percentiles) over every task of every
 * round of the measured iteration, pooled, plus {@code rounds} and {@code samples} (tasks measured).
 * They appear in JMH's output and in the JSON's {@code secondaryMetrics}. JMH 1.37 reports an {@code
 * EVENTS} counter with {@code AggregationPolicy.SUM}, over threads, iterations and forks alike,
 * which would add up percentiles; so a trial fails unless it has exactly one measured iteration, one
 * fork and one thread. The iteration's length sets how many rounds are pooled: the annotations run
 * rounds for 20 s after 5 s of warm-up rounds; {@code run.sh quick}'s {@code -w 200ms -r 200ms}
 * runs as many rounds as fit in 200 ms, at least one (a round of 100,000 tasks takes seconds). The
 * score error is therefore not available; repeat a run to see the spread. Quick mode's {@code -p
 * concurrency=... -p capacity=...} do not apply here (JMH ignores a parameter a benchmark lacks).
 *
 * <p><b>Forks and memory.</b> Each side runs in its own forks (2 GB heap, as the other benchmarks),
 * so it pays for its own garbage. At 100,000 tasks the structured runner has about 200,000 virtual
 * threads parked at the gate (attempt and body threads) and peaks near 0.8 GB of heap; young
 * pauses of hundreds of milliseconds are then part of the lateness, on both sides ({@code -prof gc}
 * shows them). On a shared 2-core machine the p99s move by several times from run to run: compare
 * ratios over repeated runs, not one.
 *
 * <p>The target: loomwork's p99 within 2× of the baseline's, at every {@code tasks}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 1, time = 20)
@Threads(1)
public abstract class TimerLateness {

  /** The backoff before every retry, fixed, without jitter. */
  static final long BACKOFF_MS = 50;

  static final Duration BACKOFF = Duration.ofMillis(BACKOFF_MS);

  /** Tasks per round, all in flight and then all waiting at once. */
  @Param({"100", "10000", "100000"})
  public int tasks;

  @Setup(Level.Trial)
  public void setUpTrial(BenchmarkParams params) {
    if (params.getMeasurement().getCount() != 1 || params.getForks() > 1 || params.getThreads() != 1) {
      throw new IllegalStateException(
          "TimerLateness reports percentiles through JMH EVENTS counters, which JMH sums over"
              + " iterations, forks and threads: run it with -i 1 -f 1 -t 1 (got -i "
              + params.getMeasurement().getCount() + " -f " + params.getForks() + " -t "
              + params.getThreads() + "); the measurement time (-r) sets how many rounds are pooled");
    }
    start();
  }

  @TearDown(Level.Trial)
  public void tearDownTrial() throws InterruptedException {
    stop();
  }

  /** Builds and starts what the rounds run on. */
  abstract void start();

  /** Stops it, and fails if it did not stop cleanly. */
  abstract void stop() throws InterruptedException;

  /**
   * Starts the round's first attempts: each counts down {@link Round#firstStarted}, waits for {@link
   * Round#gate}, and fails; its retry records {@link Round#due}, {@link Round#ready} and {@link
   * Round#start} and counts down {@link Round#scheduled} and {@link Round#done}.
   */
  abstract void launch(Round round);

  /** After {@link Round#done}: waits until every task of the round has ended, and checks them. */
  abstract void settle(Round round) throws Exception;

  /** One round: {@code tasks} tasks fail once at the same moment, then wait out their backoff. */
  @Benchmark
  public void retry(Lateness lateness) throws Exception {
    Round round = new Round(tasks);
    launch(round);
    Bench.await(round.firstStarted);
    round.gate.countDown(); // every first attempt fails now
    Bench.await(round.scheduled);
    Bench.await(round.done);
    settle(round);
    lateness.add(round);
  }

  /** The moments of one round, in System.nanoTime(), indexed by task. */
  static final class Round {
    final int n;
    final long[] due;
    final long[] ready;
    final long[] start;
    final CountDownLatch firstStarted;
    final CountDownLatch gate = new CountDownLatch(1);
    final CountDownLatch scheduled;
    final CountDownLatch done;

    Round(int n) {
      this.n = n;
      due = new long[n];
      ready = new long[n];
      start = new long[n];
      firstStarted = new CountDownLatch(n);
      scheduled = new CountDownLatch(n);
      done = new CountDownLatch(n);
    }
  }

  /**
   * The figures of one iteration: every round's lateness samples pooled, their percentiles computed
   * at the end of the iteration (JMH reads the counters after the iteration's tear-down and resets
   * them after its set-up).
   */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Lateness {
    public double readyP50Us;
    public double readyP99Us;
    public double startP50Us;
    public double startP99Us;
    public long rounds;
    public long samples;

    private long[] toReady = new long[0];
    private long[] toStart = new long[0];
    private int size;
    private int roundCount;

    @Setup(Level.Iteration)
    public void clear() {
      size = 0;
      roundCount = 0;
    }

    void add(Round r) {
      if (toReady.length - size < r.n) {
        int capacity = Math.max(2 * toReady.length, size + r.n);
        toReady = Arrays.copyOf(toReady, capacity);
        toStart = Arrays.copyOf(toStart, capacity);
      }
      for (int i = 0; i < r.n; i++) {
        long ready = r.ready[i] - r.due[i];
        long start = r.start[i] - r.due[i];
        if (r.due[i] == 0 || r.ready[i] == 0 || r.start[i] == 0 || ready < 0 || start < ready) {
          throw new IllegalStateException(
              "task " + i + ": due " + r.due[i] + ", ready " + r.ready[i] + ", start " + r.start[i]
                  + " (ns): a moment is missing or out of order");
        }
        toReady[size + i] = ready;
        toStart[size + i] = start;
      }
      size += r.n;
      roundCount++;
    }

    @TearDown(Level.Iteration)
    public void report() {
      if (size == 0) {
        throw new IllegalStateException("no round ran in this iteration");
      }
      Arrays.sort(toReady, 0, size);
      Arrays.sort(toStart, 0, size);
      readyP50Us = percentileUs(toReady, size, 0.50);
      readyP99Us = percentileUs(toReady, size, 0.99);
      startP50Us = percentileUs(toStart, size, 0.50);
      startP99Us = percentileUs(toStart, size, 0.99);
      rounds = roundCount;
      samples = size;
    }

    /** Nearest rank: the smallest sample with at least {@code p} of the samples at or below it. */
    static double percentileUs(long[] sorted, int size, double p) {
      int rank = (int) Math.ceil(p * size);
      return sorted[Math.max(0, rank - 1)] / 1_000.0;
    }
  }
}
