package dev.loomwork.bench;

import static dev.loomwork.bench.Bench.CONCURRENCY;
import static org.jobrunr.server.BackgroundJobServerConfiguration.usingStandardBackgroundJobServerConfiguration;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.jobrunr.jobs.Job;
import org.jobrunr.jobs.filters.ApplyStateFilter;
import org.jobrunr.jobs.mappers.JobMapper;
import org.jobrunr.jobs.states.FailedState;
import org.jobrunr.jobs.states.JobState;
import org.jobrunr.jobs.states.StateName;
import org.jobrunr.jobs.states.SucceededState;
import org.jobrunr.scheduling.JobScheduler;
import org.jobrunr.server.BackgroundJobServer;
import org.jobrunr.storage.InMemoryStorageProvider;
import org.jobrunr.utils.mapper.JsonMapper;
import org.jobrunr.utils.mapper.jackson.JacksonJsonMapper;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.IterationParams;

/**
 * JobRunr 8.7.0 in memory: an {@link InMemoryStorageProvider}, a {@link BackgroundJobServer} of
 * {@link Bench#CONCURRENCY} workers (virtual threads, JobRunr's default on JDK 21+) at the smallest
 * poll interval that storage accepts, {@value #POLL_INTERVAL_MS} ms (a database needs 5 s), and a
 * {@link JobScheduler}; Jackson 2 as JobRunr's JSON mapper. The server is started and stopped per
 * trial.
 *
 * <p>What JobRunr does per job, which these figures include: {@code enqueue} turns the lambda into
 * job details (class, method, arguments) and saves the job, which the in-memory storage stores as a
 * deep copy through JSON; the server's job steward fetches enqueued jobs every poll interval (a scan
 * of the whole store, sorted), and again whenever a worker goes idle; each job is saved again as
 * PROCESSING and as SUCCEEDED (two more JSON copies) and run by reflection. A job is done here when
 * its SUCCEEDED state is saved (an {@link ApplyStateFilter}), not when its body returns.
 *
 * <p>Workloads: {@code enqueue_1producer}, {@code noop}, {@code io} and the two latencies; no
 * {@code retryHalfOnce}, because JobRunr's retries are not comparable: its {@code RetryFilter}
 * reschedules a failed job {@code seed^failures} whole seconds later (1 s at the least), and a
 * scheduled job only becomes enqueued at the next poll. The stored SUCCEEDED jobs are deleted after
 * each end-to-end invocation and each enqueue iteration (untimed), so that every batch starts from an
 * empty store: JobRunr's best case (its default keeps them 36 h, and every poll scans them).
 */
@Fork(
    value = 1,
    jvmArgs = {
      "--sun-misc-unsafe-memory-access=allow",
      "-Xms2g",
      "-Xmx2g",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      // JobRunr warns of every job filter slower than 10 ms, which on 2 busy cores is many.
      "-Dorg.slf4j.simpleLogger.log.org.jobrunr=error"
    })
public class PeersJobRunr extends Peers {

  /**
   * Tasks per end-to-end invocation and per enqueue batch: 2,000, not {@link Bench#N} (10,000), so
   * that quick mode stays short: JobRunr runs about 2,000 to 8,000 jobs a second here, so a batch of
   * 10,000 takes seconds. The cost of that: up to one poll interval of idle start per invocation,
   * which mostly overlaps the producer's enqueueing (about half a second for 2,000 jobs).
   */
  static final int JOBS = 2_000;

  /** The smallest poll interval {@code InMemoryStorageProvider} accepts (JobRunr 8). */
  static final long POLL_INTERVAL_MS = 200;

  /**
   * Poll intervals without a heartbeat after which JobRunr takes a PROCESSING job for orphaned,
   * fails it and retries it: 25 (5 s) instead of the default 4, which at a 200 ms poll interval is
   * 800 ms. With 4, on 2 loaded cores the steward's heartbeats of 1,000 running jobs fall behind, and
   * JobRunr runs jobs twice (the plan check caught it: "made 2 attempts; planned 1"). JobRunr
   * documents raising it for CPU starvation.
   */
  static final int SERVER_TIMEOUT_POLLS = 25;

  // JobRunr runs a job by reflection, from its class, method and arguments: the job bodies are
  // static methods, and what they report to is static (each benchmark runs in its own fork).

  /** The batch in progress, or null in the light-load benchmarks. */
  static volatile Plan plan;

  static final Singles SINGLES = new Singles();

  /** Released when a light-load job's SUCCEEDED state is saved. */
  static final Semaphore COMPLETED = new Semaphore(0);

  /** Light-load jobs that failed (none should). */
  static final LongAdder FAILED = new LongAdder();

  /** The job bodies. Public: JobRunr calls them by reflection. */
  public static final class Jobs {
    private Jobs() {}

    public static void noop(int task) {
      plan.attempt(task);
    }

    public static void io(int task) throws InterruptedException {
      Thread.sleep(Bench.IO_MILLIS);
      plan.attempt(task);
    }

    public static void signalStart() {
      SINGLES.started.release();
    }

    public static void count() {
      SINGLES.ran.increment();
    }
  }

  /** Tells the plan, or the light-load benchmark, that a job is done: its SUCCEEDED state is saved. */
  static final class Done implements ApplyStateFilter {
    @Override
    public void onStateApplied(Job job, JobState oldState, JobState newState) {
      Plan p = plan;
      if (newState instanceof SucceededState) {
        if (p != null) {
          p.succeeded();
        } else {
          COMPLETED.release();
        }
      } else if (newState instanceof FailedState failed) {
        IllegalStateException e =
            new IllegalStateException(
                "JobRunr job " + job.getJobName() + " failed: " + failed.getExceptionType() + ": "
                    + failed.getExceptionMessage());
        if (p != null) {
          p.gaveUp(e);
        } else {
          FAILED.increment();
        }
      }
    }
  }

  @State(Scope.Benchmark)
  public static class Server {
    InMemoryStorageProvider storage;
    BackgroundJobServer server;
    JobScheduler scheduler;

    @Setup(Level.Trial)
    public void setUp() {
      JsonMapper json = new JacksonJsonMapper();
      storage = new InMemoryStorageProvider();
      storage.setJobMapper(new JobMapper(json));
      server =
          new BackgroundJobServer(
              storage,
              json,
              null, // no IoC container: the jobs are static methods
              usingStandardBackgroundJobServerConfiguration()
                  .andPollInterval(Duration.ofMillis(POLL_INTERVAL_MS))
                  .andServerTimeoutPollIntervalMultiplicand(SERVER_TIMEOUT_POLLS)
                  .andWorkerCount(CONCURRENCY));
      server.setJobFilters(List.of(new Done()));
      server.start();
      scheduler = new JobScheduler(storage);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      server.stop();
      Plan p = plan;
      if (p != null) {
        p.verify(); // again, now that nothing runs: no stray attempt came late
      }
      SINGLES.verify();
      if (FAILED.sum() != 0) {
        throw new IllegalStateException(FAILED.sum() + " light-load jobs failed");
      }
      storage.close();
    }

    /** Deletes the stored SUCCEEDED jobs, so that the next batch starts from an empty store. */
    void deleteSucceeded() {
      storage.deleteJobsPermanently(StateName.SUCCEEDED, Instant.now().plusSeconds(1));
    }

    void batch(Plan p, boolean io) throws InterruptedException {
      plan = p;
      for (int i = 0; i < p.tasks(); i++) {
        int task = i;
        if (io) {
          scheduler.enqueue(() -> Jobs.io(task));
        } else {
          scheduler.enqueue(() -> Jobs.noop(task));
        }
      }
      p.awaitAndVerify();
    }
  }

  /** Clears the store after each end-to-end invocation (untimed). */
  @State(Scope.Benchmark)
  public static class Batches {
    Server server;

    @Setup(Level.Trial)
    public void setUp(Server server) {
      this.server = server;
    }

    @TearDown(Level.Invocation)
    public void tearDown() {
      server.deleteSucceeded();
    }
  }

  /** The producer's batch of one iteration: its plan, and the next task's index. */
  @State(Scope.Thread)
  public static class Producer {
    Server server;
    int next;

    @Setup(Level.Iteration)
    public void setUp(Server server, IterationParams params) {
      this.server = server;
      plan = Plan.allSucceed(params.getBatchSize());
      next = 0;
    }

    @TearDown(Level.Iteration)
    public void tearDown() throws InterruptedException {
      plan.awaitAndVerify();
      server.deleteSucceeded();
    }
  }

  /**
   * Batches of {@link #JOBS}, not {@link LoomworkBenchmarks#ENQUEUE_BATCH}, and fewer iterations
   * than the other peers' 40 + 60: each batch and its drain take JobRunr about a second.
   */
  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 5, batchSize = JOBS)
  @Measurement(iterations = 10, batchSize = JOBS)
  @Threads(1)
  public Object enqueueDraining_1producer(Server s, Producer p) {
    int task = p.next++;
    return s.scheduler.enqueue(() -> Jobs.noop(task));
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(JOBS)
  public void noop(Server s, Batches b) throws InterruptedException {
    s.batch(Plan.allSucceed(JOBS), false);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OperationsPerInvocation(JOBS)
  public void io(Server s, Batches b) throws InterruptedException {
    s.batch(Plan.allSucceed(JOBS), true);
  }

  /** Enqueue to the body's first line: mostly the wait for the next poll. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latency_toStart(Server s) throws InterruptedException {
    s.scheduler.enqueue(() -> Jobs.signalStart());
    SINGLES.started.acquire();
  }

  /** Enqueue to the job's SUCCEEDED state saved. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void latency_toCompletion(Server s) throws InterruptedException {
    s.scheduler.enqueue(() -> Jobs.count());
    COMPLETED.acquire();
    SINGLES.completionsAwaited++;
  }
}
