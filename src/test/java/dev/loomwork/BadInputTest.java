package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.postgres.PostgresStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.StringReader;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every invalid argument of the public API, with the exact exception type and message it gets. The
 * table of bad inputs in docs/semantics.md, between {@code <!-- bad-inputs:start -->} and {@code <!--
 * bad-inputs:end -->}, must list exactly these cases in this order, so the two cannot drift.
 */
class BadInputTest {
  private static final String START = "<!-- bad-inputs:start -->";
  private static final String END = "<!-- bad-inputs:end -->";
  /** The guide's page with the table. */
  private static final String PAGE = "docs/semantics.md";

  private static final String NPE = "NullPointerException";
  private static final String IAE = "IllegalArgumentException";
  private static final String ISE = "IllegalStateException";
  private static final String REE = "RejectedExecutionException";
  private static final String UOE = "UnsupportedOperationException";

  /** One row: the call, the bad input, the exception's simple name and message, and the call itself. */
  record Case(String call, String input, String type, String message, Executable run) {
    String row() {
      return "| `" + call + "` | `" + input + "` | `" + type + "`: `" + message + "` |";
    }

    @Override
    public String toString() {
      return call + " with " + input;
    }
  }

  private static Case c(String call, String input, String type, String message, Executable run) {
    return new Case(call, input, type, message, run);
  }

  /** Runs {@code body} against a fresh, never-started queue named {@code bad}, then shuts it down. */
  private static Executable withQueue(ThrowingConsumer<WorkQueue> body) {
    return () -> {
      WorkQueue q = WorkQueue.builder("bad").build();
      try {
        body.accept(q);
      } finally {
        q.shutdownNow();
      }
    };
  }

  @FunctionalInterface
  interface ThrowingConsumer<T> {
    void accept(T t) throws Throwable;
  }

  private static final Duration ONE_S = Duration.ofSeconds(1);
  private static final Duration MINUS_1_S = Duration.ofSeconds(-1);
  private static final Duration MINUS_1_MS = Duration.ofMillis(-1);
  private static final Backoff BACKOFF = Backoff.exponential(ONE_S, Duration.ofMinutes(1));

  private static final TaskType<String> TYPE = TaskType.of("x", new TaskCodec<String>() {
    @Override
    public String encode(String payload) {
      return "\"" + payload + "\"";
    }

    @Override
    public String decode(String json) {
      return json;
    }
  });

  /** The typed-task API's cases, in the table's order. */
  private static void typedTasks(List<Case> cases) {
    cases.add(c("WorkQueue.submit(type, payload)", "null type", NPE, "type", withQueue(q -> q.submit(null, "p"))));
    cases.add(c("WorkQueue.submit(type, payload)", "a type with no handler on queue bad", IAE,
        "queue 'bad' has no handler for 'x' (register one with WorkQueue.Builder.handle)",
        withQueue(q -> q.submit(TYPE, "p"))));
    cases.add(c("WorkQueue.requeue(report)", "null", NPE, "report", withQueue(q -> q.requeue(null))));
    cases.add(c("WorkQueue.requeue(report, queues...)", "no queues", IAE, "queues: none (expected: at least one)",
        () -> WorkQueue.requeue(new StringReader(""), new WorkQueue[0])));
    cases.add(c("WorkQueue.requeue(report, queues...)", "a null queue", NPE, "queues[0]",
        () -> WorkQueue.requeue(new StringReader(""), (WorkQueue) null)));
    cases.add(c("Task.of(type, payload)", "null type", NPE, "type", () -> Task.of((TaskType<String>) null, "p")));
    WorkQueue.Builder b = WorkQueue.builder("bad");
    cases.add(c("Builder.handle(type, handler)", "null type", NPE, "type", () -> b.handle(null, (ctx, p) -> {})));
    cases.add(c("Builder.handle(type, handler)", "null handler", NPE, "handler", () -> b.handle(TYPE, null)));
    cases.add(c("Builder.build()", "two handlers named x (queue bad)", IAE,
        "handler: 'x' is registered twice on queue 'bad' (expected: one handler per name)",
        () -> WorkQueue.builder("bad").handle(TYPE, (ctx, p) -> {}).handle(TYPE, (ctx, p) -> {}).build()));
    TaskCodec<String> codec = TYPE.codec();
    cases.add(c("TaskType.of(handler, codec)", "null handler", NPE, "handler", () -> TaskType.of(null, codec)));
    cases.add(c("TaskType.of(handler, codec)", "\"\"", IAE, "handler: '' (expected: not blank)",
        () -> TaskType.of("", codec)));
    cases.add(c("TaskType.of(handler, codec)", "\" \"", IAE, "handler: ' ' (expected: not blank)",
        () -> TaskType.of(" ", codec)));
    cases.add(c("TaskType.of(handler, codec)", "null codec", NPE, "codec", () -> TaskType.of("x", null)));
    cases.add(c("TaskType.withRetryPolicy(policy)", "null", NPE, "policy", () -> TYPE.withRetryPolicy(null)));
    cases.add(c("TaskType.withAttemptTimeout(timeout)", "null", NPE, "timeout", () -> TYPE.withAttemptTimeout(null)));
    cases.add(c("TaskType.withAttemptTimeout(timeout)", "Duration.ZERO", IAE, "timeout: PT0S (expected: > 0)",
        () -> TYPE.withAttemptTimeout(Duration.ZERO)));
    cases.add(c("TaskType.withVersion(version)", "0", IAE, "version: 0 (expected: >= 1)", () -> TYPE.withVersion(0)));
  }

  /** A data source that is never asked for a connection: these inputs are refused before. */
  private static final DataSource NO_DATABASE =
      (DataSource) Proxy.newProxyInstance(
          BadInputTest.class.getClassLoader(),
          new Class<?>[] {DataSource.class},
          (proxy, method, args) -> {
            throw new AssertionError("a bad input reached the database: " + method);
          });

  /** The durable store's cases, in the table's order. None reaches the database. */
  private static void durable(List<Case> cases) {
    PostgresStore.Builder sb = PostgresStore.builder(NO_DATABASE);
    PostgresStore store = sb.build();
    cases.add(c("PostgresStore.builder(dataSource)", "null", NPE, "dataSource", () -> PostgresStore.builder(null)));
    cases.add(c("PostgresStore.Builder.lease(d)", "10 ms", IAE, "lease: PT0.01S (expected: >= PT0.03S)",
        () -> sb.lease(Duration.ofMillis(10))));
    cases.add(c("PostgresStore.Builder.rescueInterval(d)", "Duration.ZERO", IAE,
        "rescueInterval: PT0S (expected: >= PT0.001S)", () -> sb.rescueInterval(Duration.ZERO)));
    cases.add(c("PostgresStore.Builder.pollInterval(d)", "Duration.ZERO", IAE,
        "pollInterval: PT0S (expected: >= PT0.001S)", () -> sb.pollInterval(Duration.ZERO)));
    cases.add(c("PostgresStore.Builder.retention(succeeded, ended)", "-1 s, 1 s", IAE,
        "succeeded: PT-1S (expected: >= PT0S)", () -> sb.retention(MINUS_1_S, ONE_S)));
    cases.add(c("PostgresStore.enqueue(queue, task)", "queue \" \"", IAE, "queue: ' ' (expected: not blank)",
        () -> store.enqueue(" ", Task.of(TYPE, "p"))));
    cases.add(c("PostgresStore.enqueue(queue, task)", "a closure named c", IAE,
        "task 'c' is a closure, which cannot be written down: enqueue a typed task (Task.of(type, payload))"
            + " on a durable store",
        () -> store.enqueue("q", Task.of(ctx -> {}).named("c"))));
    cases.add(c("PostgresStore.enqueue(queue, task)", "task t with an after-callback", IAE,
        "task 't' has an after-callback, which cannot run in another process: a durable store keeps none"
            + " (use a listener on the worker's queue)",
        () -> store.enqueue("q", Task.of(TYPE, "p").named("t").after(x -> {}))));
    cases.add(c("PostgresStore.enqueue(queue, task)", "task t with a backoff of its own", IAE,
        "task 't' sets a backoff of its own, which a durable store does not keep: set it on its TaskType",
        () -> store.enqueue("q", Task.of(TYPE, "p").named("t").backoff(BACKOFF))));
    cases.add(c("Builder.build()", "a store and no handler (queue bad)", IAE,
        "queue 'bad': a durable queue runs typed tasks only, and has no handler (register one with"
            + " WorkQueue.Builder.handle)",
        () -> WorkQueue.builder("bad").store(store).build()));
    cases.add(c("WorkQueue.submit(type, payload)", "a durable queue bad", UOE,
        "queue 'bad' is durable: its tasks may run in another process, so nothing here can await task"
            + " 'task-unqueued'. Enqueue a typed task with its store: store.enqueue(\"bad\", Task.of(type, payload)),"
            + " which returns the task's id",
        () -> WorkQueue.builder("bad").store(store).handle(TYPE, (ctx, p) -> {}).build().submit(TYPE, "p")));
  }

  static List<Case> cases() {
    List<Case> cases = new ArrayList<>();
    WorkQueue.Builder b = WorkQueue.builder("bad");
    Task<?> t = Task.of(ctx -> {});

    // WorkQueue.builder and WorkQueue.Builder
    cases.add(c("WorkQueue.builder(name)", "null", NPE, "name", () -> WorkQueue.builder(null)));
    cases.add(c("WorkQueue.builder(name)", "\"\"", IAE, "name: '' (expected: not blank)", () -> WorkQueue.builder("")));
    cases.add(c("WorkQueue.builder(name)", "\" \"", IAE, "name: ' ' (expected: not blank)", () -> WorkQueue.builder(" ")));
    cases.add(c("Builder.concurrency(n)", "0", IAE, "concurrency: 0 (expected: >= 1)", () -> b.concurrency(0)));
    cases.add(c("Builder.concurrency(n)", "-1", IAE, "concurrency: -1 (expected: >= 1)", () -> b.concurrency(-1)));
    cases.add(c("Builder.capacity(n)", "0", IAE, "capacity: 0 (expected: >= 1)", () -> b.capacity(0)));
    cases.add(c("Builder.retryPolicy(policy)", "null", NPE, "retryPolicy", () -> b.retryPolicy(null)));
    cases.add(c("Builder.clock(clock)", "null", NPE, "clock", () -> b.clock(null)));
    cases.add(c("Builder.random(random)", "null", NPE, "random", () -> b.random(null)));
    cases.add(c("Builder.listener(listener)", "null", NPE, "listener", () -> b.listener(null)));
    cases.add(c("Builder.threadFactory(factory)", "null", NPE, "threadFactory", () -> b.threadFactory(null)));
    cases.add(c("Builder.abandonAfter(d)", "null", NPE, "abandonAfter", () -> b.abandonAfter(null)));
    cases.add(c("Builder.abandonAfter(d)", "Duration.ofMillis(-1)", IAE, "abandonAfter: PT-0.001S (expected: >= 0)",
        () -> b.abandonAfter(MINUS_1_MS)));
    cases.add(c("Builder.progressInterval(d)", "null", NPE, "progressInterval", () -> b.progressInterval(null)));
    cases.add(c("Builder.progressInterval(d)", "Duration.ZERO", IAE, "progressInterval: PT0S (expected: > 0)",
        () -> b.progressInterval(Duration.ZERO)));
    cases.add(c("Builder.progressInterval(d)", "Duration.ofSeconds(-1)", IAE, "progressInterval: PT-1S (expected: > 0)",
        () -> b.progressInterval(MINUS_1_S)));
    cases.add(c("Builder.meterRegistry(registry)", "null", NPE, "registry", () -> b.meterRegistry(null)));
    String buckets = "Builder.timerBuckets(buckets...)";
    cases.add(c(buckets, "null array", NPE, "timerBuckets", () -> b.timerBuckets((Duration[]) null)));
    cases.add(c(buckets, "none", IAE, "timerBuckets: none (expected: at least one)", () -> b.timerBuckets()));
    cases.add(c(buckets, "(1 s, null)", NPE, "timerBuckets[1]", () -> b.timerBuckets(ONE_S, null)));
    cases.add(c(buckets, "Duration.ZERO", IAE, "timerBuckets[0]: PT0S (expected: > 0)",
        () -> b.timerBuckets(Duration.ZERO)));
    cases.add(c(buckets, "Duration.ofSeconds(-1)", IAE, "timerBuckets[0]: PT-1S (expected: > 0)",
        () -> b.timerBuckets(MINUS_1_S)));
    cases.add(c(buckets, "(1 s, 1 s)", IAE, "timerBuckets[1]: PT1S (expected: > timerBuckets[0] PT1S, ascending)",
        () -> b.timerBuckets(ONE_S, ONE_S)));
    cases.add(c(buckets, "(2 s, 1 s)", IAE, "timerBuckets[1]: PT1S (expected: > timerBuckets[0] PT2S, ascending)",
        () -> b.timerBuckets(Duration.ofSeconds(2), ONE_S)));
    cases.add(c("Builder.build()", "a second queue named bad in a registry where one lives", ISE,
        "queue 'bad' already has meters in this registry, from a queue that has not terminated: shut that queue"
            + " down first, or give this one another name",
        () -> {
          SimpleMeterRegistry registry = new SimpleMeterRegistry();
          WorkQueue live = WorkQueue.builder("bad").meterRegistry(registry).build();
          try {
            WorkQueue.builder("bad").meterRegistry(registry).build();
          } finally {
            live.shutdownNow();
          }
        }));

    // Task factories and configuration
    cases.add(c("Task.of(work)", "null", NPE, "work", () -> Task.of(null)));
    cases.add(c("Task.ofJob(job)", "null", NPE, "job", () -> Task.ofJob(null)));
    cases.add(c("Task.named(name)", "null", NPE, "name", () -> t.named(null)));
    cases.add(c("Task.named(name)", "\"\"", IAE, "name: '' (expected: not blank)", () -> t.named("")));
    cases.add(c("Task.named(name)", "\" \"", IAE, "name: ' ' (expected: not blank)", () -> t.named(" ")));
    cases.add(c("Task.retryPolicy(policy)", "null", NPE, "policy", () -> t.retryPolicy(null)));
    cases.add(c("Task.retries(n)", "-1", IAE, "retries: -1 (expected: >= 0)", () -> t.retries(-1)));
    cases.add(c("Task.backoff(backoff)", "null", NPE, "backoff", () -> t.backoff(null)));
    cases.add(c("Task.attemptTimeout(d)", "null", NPE, "attemptTimeout", () -> t.attemptTimeout(null)));
    cases.add(c("Task.attemptTimeout(d)", "Duration.ZERO", IAE, "attemptTimeout: PT0S (expected: > 0)",
        () -> t.attemptTimeout(Duration.ZERO)));
    cases.add(c("Task.attemptTimeout(d)", "Duration.ofSeconds(-1)", IAE, "attemptTimeout: PT-1S (expected: > 0)",
        () -> t.attemptTimeout(MINUS_1_S)));
    cases.add(c("Task.within(d)", "null", NPE, "within", () -> t.within(null)));
    cases.add(c("Task.within(d)", "Duration.ZERO", IAE, "within: PT0S (expected: > 0)", () -> t.within(Duration.ZERO)));
    cases.add(c("Task.notBefore(time)", "null", NPE, "notBefore", () -> t.notBefore(null)));
    cases.add(c("Task.delay(d)", "null", NPE, "delay", () -> t.delay(null)));
    cases.add(c("Task.delay(d)", "Duration.ofMillis(-1)", IAE, "delay: PT-0.001S (expected: >= 0)",
        () -> t.delay(MINUS_1_MS)));
    cases.add(c("Task.after(callback)", "null", NPE, "callback", () -> t.after(null)));
    cases.add(c("Task.retries(n)", "any, once enqueued (task t)", ISE,
        "task 't' is READY: retries can only be set before it is enqueued",
        withQueue(q -> q.enqueue(Task.of(ctx -> {}).named("t")).retries(1))));
    cases.add(c("Task.await(timeout)", "null", NPE, "timeout", () -> t.await(null)));

    // WorkQueue
    cases.add(c("WorkQueue.enqueue(task)", "null", NPE, "task", withQueue(q -> q.enqueue(null))));
    cases.add(c("WorkQueue.enqueue(task)", "a task already enqueued (t)", ISE,
        "task 't' cannot be enqueued: it is READY (a task can be enqueued once)",
        withQueue(q -> q.enqueue(q.enqueue(Task.of(ctx -> {}).named("t"))))));
    cases.add(c("WorkQueue.enqueue(task)", "a cancelled task (t)", ISE, "task 't' cannot be enqueued: it is CANCELLED",
        withQueue(q -> {
          Task<?> cancelled = Task.of(ctx -> {}).named("t");
          cancelled.cancel();
          q.enqueue(cancelled);
        })));
    cases.add(c("WorkQueue.enqueue(task)", "any, after shutdown (queue bad, task t)", REE,
        "queue 'bad' is shut down: task 't' rejected",
        withQueue(q -> {
          q.shutdown();
          q.enqueue(Task.of(ctx -> {}).named("t"));
        })));
    cases.add(c("WorkQueue.offer(task)", "null", NPE, "task", withQueue(q -> q.offer(null))));
    cases.add(c("WorkQueue.offer(task, timeout)", "null task", NPE, "task", withQueue(q -> q.offer(null, ONE_S))));
    cases.add(c("WorkQueue.offer(task, timeout)", "null timeout", NPE, "timeout",
        withQueue(q -> q.offer(Task.of(ctx -> {}), null))));
    cases.add(c("WorkQueue.submit(work)", "null", NPE, "work", withQueue(q -> q.submit(null))));
    cases.add(c("WorkQueue.submitJob(job)", "null", NPE, "job", withQueue(q -> q.submitJob(null))));
    typedTasks(cases);
    durable(cases);
    cases.add(c("WorkQueue.shutdown(timeout)", "null", NPE, "timeout", withQueue(q -> q.shutdown(null))));
    cases.add(c("WorkQueue.start()", "a second call (queue bad)", ISE,
        "queue 'bad' was already started: start() or run() may be called once",
        withQueue(q -> {
          q.start();
          q.start();
        })));
    cases.add(c("WorkQueue.join(timeout, queues...)", "null timeout", NPE, "timeout",
        withQueue(q -> WorkQueue.join(null, q))));
    cases.add(c("WorkQueue.join(timeout, queues...)", "null array", NPE, "queues",
        () -> WorkQueue.join(ONE_S, (WorkQueue[]) null)));
    cases.add(c("WorkQueue.join(timeout, queues...)", "(q, null)", NPE, "queues[1]",
        withQueue(q -> WorkQueue.join(ONE_S, q, null))));

    // RetryPolicy
    cases.add(c("new RetryPolicy(retries, backoff, retryIf, attemptTimeout)", "retries -1", IAE,
        "retries: -1 (expected: >= 0)", () -> new RetryPolicy(-1, BACKOFF, RetryPolicy.EXCEPTIONS, null)));
    cases.add(c("new RetryPolicy(retries, backoff, retryIf, attemptTimeout)", "backoff null", NPE, "backoff",
        () -> new RetryPolicy(0, null, RetryPolicy.EXCEPTIONS, null)));
    cases.add(c("new RetryPolicy(retries, backoff, retryIf, attemptTimeout)", "retryIf null", NPE, "retryIf",
        () -> new RetryPolicy(0, BACKOFF, null, null)));
    cases.add(c("new RetryPolicy(retries, backoff, retryIf, attemptTimeout)", "attemptTimeout Duration.ZERO", IAE,
        "attemptTimeout: PT0S (expected: > 0)", () -> new RetryPolicy(0, BACKOFF, RetryPolicy.EXCEPTIONS, Duration.ZERO)));
    RetryPolicy p = RetryPolicy.defaults();
    cases.add(c("RetryPolicy.withRetries(n)", "-1", IAE, "retries: -1 (expected: >= 0)", () -> p.withRetries(-1)));
    cases.add(c("RetryPolicy.withBackoff(backoff)", "null", NPE, "backoff", () -> p.withBackoff(null)));
    cases.add(c("RetryPolicy.withRetryIf(predicate)", "null", NPE, "retryIf", () -> p.withRetryIf(null)));
    cases.add(c("RetryPolicy.withAttemptTimeout(d)", "null", NPE, "attemptTimeout", () -> p.withAttemptTimeout(null)));
    cases.add(c("RetryPolicy.withAttemptTimeout(d)", "Duration.ofSeconds(-1)", IAE, "attemptTimeout: PT-1S (expected: > 0)",
        () -> p.withAttemptTimeout(MINUS_1_S)));

    // Backoff
    String ctor = "new Backoff(initial, factor, max, jitter)";
    Duration min = Duration.ofMinutes(1);
    cases.add(c(ctor, "initial null", NPE, "initial", () -> new Backoff(null, 2, min, 0.2)));
    cases.add(c(ctor, "max null", NPE, "max", () -> new Backoff(ONE_S, 2, null, 0.2)));
    cases.add(c(ctor, "initial Duration.ofSeconds(-1)", IAE, "initial: PT-1S (expected: >= 0)",
        () -> new Backoff(MINUS_1_S, 2, min, 0.2)));
    cases.add(c(ctor, "max Duration.ofMillis(500) < initial 1 s", IAE, "max: PT0.5S (expected: >= initial PT1S)",
        () -> new Backoff(ONE_S, 2, Duration.ofMillis(500), 0.2)));
    cases.add(c(ctor, "factor 0.5", IAE, "factor: 0.5 (expected: finite and >= 1)", () -> new Backoff(ONE_S, 0.5, min, 0.2)));
    cases.add(c(ctor, "factor NaN", IAE, "factor: NaN (expected: finite and >= 1)",
        () -> new Backoff(ONE_S, Double.NaN, min, 0.2)));
    cases.add(c(ctor, "factor Infinity", IAE, "factor: Infinity (expected: finite and >= 1)",
        () -> new Backoff(ONE_S, Double.POSITIVE_INFINITY, min, 0.2)));
    cases.add(c(ctor, "jitter -0.1", IAE, "jitter: -0.1 (expected: in [0, 1])", () -> new Backoff(ONE_S, 2, min, -0.1)));
    cases.add(c(ctor, "jitter 1.5", IAE, "jitter: 1.5 (expected: in [0, 1])", () -> new Backoff(ONE_S, 2, min, 1.5)));
    cases.add(c(ctor, "jitter NaN", IAE, "jitter: NaN (expected: in [0, 1])", () -> new Backoff(ONE_S, 2, min, Double.NaN)));
    cases.add(c("Backoff.exponential(initial, max)", "null initial", NPE, "initial", () -> Backoff.exponential(null, min)));
    cases.add(c("Backoff.exponential(initial, max)", "null max", NPE, "max", () -> Backoff.exponential(ONE_S, null)));
    cases.add(c("Backoff.exponential(initial, max)", "(Duration.ofSeconds(-1), 1 min)", IAE,
        "initial: PT-1S (expected: >= 0)", () -> Backoff.exponential(MINUS_1_S, min)));
    cases.add(c("Backoff.exponential(initial, max)", "(2 min, 1 min)", IAE, "max: PT1M (expected: >= initial PT2M)",
        () -> Backoff.exponential(Duration.ofMinutes(2), min)));
    cases.add(c("Backoff.fixed(delay)", "null", NPE, "delay", () -> Backoff.fixed(null)));
    cases.add(c("Backoff.fixed(delay)", "Duration.ofMillis(-1)", IAE, "delay: PT-0.001S (expected: >= 0)",
        () -> Backoff.fixed(MINUS_1_MS)));
    cases.add(c("Backoff.withFactor(factor)", "0.99", IAE, "factor: 0.99 (expected: finite and >= 1)",
        () -> BACKOFF.withFactor(0.99)));
    cases.add(c("Backoff.withJitter(jitter)", "2.0", IAE, "jitter: 2.0 (expected: in [0, 1])", () -> BACKOFF.withJitter(2.0)));
    cases.add(c("Backoff.withMax(max)", "null", NPE, "max", () -> BACKOFF.withMax(null)));
    cases.add(c("Backoff.withMax(max)", "Duration.ZERO < initial 1 s", IAE, "max: PT0S (expected: >= initial PT1S)",
        () -> BACKOFF.withMax(Duration.ZERO)));
    cases.add(c("Backoff.delay(retry, random)", "retry 0", IAE, "retry: 0 (expected: >= 1)",
        () -> BACKOFF.delay(0, new SplittableRandom(1))));
    cases.add(c("Backoff.delay(retry, random)", "retry -1", IAE, "retry: -1 (expected: >= 1)",
        () -> BACKOFF.delay(-1, new SplittableRandom(1))));
    cases.add(c("Backoff.delay(retry, random)", "random null", NPE, "random", () -> BACKOFF.delay(1, null)));
    return cases;
  }

  @ParameterizedTest(name = "{index}: {0}")
  @MethodSource("cases")
  void aBadInputThrowsTheDocumentedExceptionWithItsExactMessage(Case c) {
    Throwable e = assertThrows(Throwable.class, c.run(), () -> c + " must throw");
    assertEquals(c.type(), e.getClass().getSimpleName(), () -> c + " threw " + e);
    assertEquals(c.message(), e.getMessage(), () -> c + " threw " + e);
    assertSame(exceptionClass(c.type()), e.getClass(), "exactly that class, not a subclass");
  }

  private static Class<?> exceptionClass(String simpleName) {
    return switch (simpleName) {
      case NPE -> NullPointerException.class;
      case IAE -> IllegalArgumentException.class;
      case ISE -> IllegalStateException.class;
      case REE -> RejectedExecutionException.class;
      case UOE -> UnsupportedOperationException.class;
      default -> throw new AssertionError(simpleName);
    };
  }

  @Test
  void theReadmeTableListsExactlyTheseCasesInThisOrder() throws Exception {
    String readme = Files.readString(Path.of(PAGE));
    int start = readme.indexOf(START);
    int end = readme.indexOf(END);
    List<String> expected = cases().stream().map(Case::row).toList();
    assertTrue(start >= 0 && end > start,
        () -> PAGE + " needs the table of bad inputs between " + START + " and " + END + ":\n"
            + "| call | bad input | error |\n| --- | --- | --- |\n" + String.join("\n", expected));
    List<String> rows =
        readme.substring(start + START.length(), end).lines()
            .map(String::strip)
            .filter(l -> l.startsWith("|"))
            .skip(2) // the header and its separator
            .toList();
    assertEquals(String.join("\n", expected), String.join("\n", rows),
        PAGE + "'s table of bad inputs must list exactly the cases of BadInputTest, in order");
  }

  @Test
  void everyCaseIsDistinct() {
    List<String> rows = cases().stream().map(Case::row).toList();
    assertEquals(rows.size(), Stream.of(rows.toArray()).distinct().count(), "no duplicate rows");
  }
}
