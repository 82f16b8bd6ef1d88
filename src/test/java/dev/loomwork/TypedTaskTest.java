package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Typed tasks: handlers, codecs, stable ids, the report's typed lines, and re-queueing them. */
class TypedTaskTest {
  @RegisterExtension final QueueFixture fx = new QueueFixture();

  record Welcome(String address, int attempt) {}

  static final TaskType<Welcome> WELCOME = TaskType.of("email.welcome", new JacksonCodec<>(Welcome.class));

  /** A codec that refuses what the test says. */
  static <P> TaskCodec<P> refusing(RuntimeException onEncode, RuntimeException onDecode) {
    return new TaskCodec<>() {
      @Override
      public String encode(P payload) {
        throw onEncode;
      }

      @Override
      public P decode(String json) {
        throw onDecode;
      }
    };
  }

  @Nested
  class Running {
    @Test
    void theHandlerGetsTheDecodedPayloadAndTheSameIdOnEveryAttempt() throws Exception {
      List<String> ids = new CopyOnWriteArrayList<>();
      List<Welcome> payloads = new CopyOnWriteArrayList<>();
      WorkQueue queue =
          fx.started(
              WorkQueue.builder("typed")
                  .retryPolicy(QueueFixture.NO_BACKOFF)
                  .handle(
                      WELCOME,
                      (ctx, welcome) -> {
                        ids.add(ctx.taskId());
                        payloads.add(welcome);
                        if (ctx.attempt() == 1) {
                          throw new IllegalStateException("first attempt fails");
                        }
                      }));
      Task<?> task = queue.submit(WELCOME, new Welcome("ada@example.com", 7));
      task.await(GENEROUS);
      assertEquals(2, task.attempts());
      assertEquals(List.of(new Welcome("ada@example.com", 7), new Welcome("ada@example.com", 7)), payloads);
      assertEquals(2, ids.size());
      assertEquals(ids.get(0), ids.get(1), "the id is stable across attempts");
      Task<?> other = queue.submit(WELCOME, new Welcome("bob@example.com", 1));
      other.await(GENEROUS);
      assertNotEquals(ids.get(0), ids.get(ids.size() - 1), "each task has its own id");
    }

    @Test
    void aPayloadThatCannotBeDecodedFailsOnceWithTaskCodecException() throws Exception {
      IllegalArgumentException poison = new IllegalArgumentException("poison");
      TaskType<String> broken =
          TaskType.of("broken", new TaskCodec<String>() {
            @Override
            public String encode(String payload) {
              return "\"" + payload + "\"";
            }

            @Override
            public String decode(String json) {
              throw poison;
            }
          });
      AtomicInteger calls = new AtomicInteger();
      WorkQueue queue =
          fx.started(WorkQueue.builder("poison").handle(broken, (ctx, p) -> calls.incrementAndGet()));
      Task<?> task = queue.enqueue(Task.of(broken, "x").retries(5));
      TaskCodecException e = assertInstanceOf(TaskCodecException.class, QueueFixture.failureOf(task));
      assertSame(poison, e.getCause());
      assertTrue(e.getMessage().contains("'broken'"), e::getMessage);
      assertEquals(1, task.attempts(), "a poison payload fails once, it never loops");
      assertEquals(0, calls.get());
    }

    @Test
    void theTypesDefaultsApplyUnlessTheTaskSetsItsOwn() throws Exception {
      TaskType<Welcome> once = WELCOME.withRetryPolicy(QueueFixture.NO_BACKOFF.withRetries(0));
      WorkQueue queue =
          fx.started(
              WorkQueue.builder("defaults")
                  .retryPolicy(QueueFixture.NO_BACKOFF)
                  .handle(once, (ctx, w) -> {
                    throw new IllegalStateException("always");
                  }));
      Task<?> typeDefault = queue.submit(once, new Welcome("a@example.com", 0));
      QueueFixture.failureOf(typeDefault);
      assertEquals(1, typeDefault.attempts(), "the type's policy: no retries");
      Task<?> own = queue.enqueue(Task.of(once, new Welcome("b@example.com", 0)).retries(2));
      QueueFixture.failureOf(own);
      assertEquals(3, own.attempts(), "the task's own retries win");
    }
  }

  @Nested
  class BadInput {
    @Test
    void aCodecThatThrowsAtEnqueueReachesTheCallerAndNothingIsAccepted() {
      IllegalStateException refused = new IllegalStateException("cannot encode");
      TaskType<String> type = TaskType.of("refuses", refusing(refused, new IllegalStateException()));
      WorkQueue queue = fx.started(WorkQueue.builder("codec").handle(type, (ctx, p) -> {}));
      Task<?> task = Task.of(type, "x");
      assertSame(refused, assertThrows(IllegalStateException.class, () -> queue.enqueue(task)));
      assertEquals(TaskState.NEW, task.state());
      assertEquals(0, queue.stats().submitted(), "nothing was accepted");
    }

    @Test
    void aCheckedExceptionFromTheCodecIsWrappedInTaskCodecException() {
      Exception checked = new IOException("disk");
      TaskType<String> type =
          TaskType.of("checked", new TaskCodec<String>() {
            @Override
            public String encode(String payload) throws Exception {
              throw checked;
            }

            @Override
            public String decode(String json) {
              return json;
            }
          });
      WorkQueue queue = fx.started(WorkQueue.builder("checked").handle(type, (ctx, p) -> {}));
      TaskCodecException e =
          assertThrows(TaskCodecException.class, () -> queue.submit(type, "x"));
      assertSame(checked, e.getCause());
      assertEquals(0, queue.stats().submitted());
    }

    @Test
    void aNullPayloadTheCodecRefusesIsRefusedAtEnqueue() {
      TaskType<String> strict =
          TaskType.of("strict", new TaskCodec<String>() {
            @Override
            public String encode(String payload) {
              return "\"" + Objects.requireNonNull(payload, "payload") + "\"";
            }

            @Override
            public String decode(String json) {
              return json;
            }
          });
      WorkQueue queue = fx.started(WorkQueue.builder("nulls").handle(strict, (ctx, p) -> {}));
      NullPointerException e =
          assertThrows(NullPointerException.class, () -> queue.submit(strict, null));
      assertEquals("payload", e.getMessage());
      assertEquals(0, queue.stats().submitted());
    }

    @Test
    void aTypeWithNoHandlerOnTheQueueIsRefusedNamingBoth() {
      WorkQueue queue = fx.started(WorkQueue.builder("no-handlers"));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> queue.submit(WELCOME, new Welcome("a", 0)));
      assertEquals(
          "queue 'no-handlers' has no handler for 'email.welcome' (register one with"
              + " WorkQueue.Builder.handle)",
          e.getMessage());
      assertEquals(0, queue.stats().submitted());
    }

    @Test
    void twoHandlersUnderOneNameFailAtBuild() {
      TaskType<Welcome> again = TaskType.of("email.welcome", new JacksonCodec<>(Welcome.class));
      WorkQueue.Builder builder =
          WorkQueue.builder("twice").handle(WELCOME, (ctx, w) -> {}).handle(again, (ctx, w) -> {});
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
      assertEquals(
          "handler: 'email.welcome' is registered twice on queue 'twice' (expected: one handler per"
              + " name)",
          e.getMessage());
    }

    @Test
    void aBlankHandlerNameIsRefused() {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> TaskType.of(" ", new JacksonCodec<>(Welcome.class)));
      assertEquals("handler: ' ' (expected: not blank)", e.getMessage());
    }
  }

  @Nested
  class Report {
    @Test
    void typedLinesCarryIdHandlerAndPayloadAndEveryLineTheReportsTimeAndInstance() throws Exception {
      WorkQueue queue = fx.unstarted(WorkQueue.builder("report").handle(WELCOME, (ctx, w) -> {}));
      queue.submit(WELCOME, new Welcome("ada@example.com", 3));
      queue.enqueue(Task.of(ctx -> {}).named("a closure"));
      ShutdownReport report = queue.shutdownNow();
      List<JsonNode> lines = lines(report.toJsonLines());
      assertEquals(2, lines.size());
      for (JsonNode line : lines) {
        assertEquals(report.instance(), line.get("instance").asString());
        assertEquals(report.reportedAt().toString(), line.get("reportedAt").asString());
        assertTrue(line.get("id").asString().startsWith(report.instance()), line::toString);
      }
      JsonNode typed = lines.get(0);
      assertEquals("email.welcome", typed.get("handler").asString());
      assertEquals(
          new Welcome("ada@example.com", 3),
          WELCOME.codec().decode(typed.get("payload").asString()));
      JsonNode closure = lines.get(1);
      assertTrue(closure.get("handler").isNull());
      assertTrue(closure.get("payload").isNull());
    }
  }

  static List<JsonNode> lines(String jsonLines) {
    JsonMapper json = JsonMapper.builder().build();
    List<JsonNode> nodes = new ArrayList<>();
    for (String line : jsonLines.split("\n")) {
      nodes.add(json.readTree(line));
    }
    return nodes;
  }

  @Nested
  class Requeue {
    /** A queue that records each delivery by task id; never started unless the test starts it. */
    final Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();

    WorkQueue.Builder recording(String name) {
      return WorkQueue.builder(name)
          .handle(
              WELCOME,
              (ctx, w) -> deliveries.computeIfAbsent(ctx.taskId(), id -> new AtomicInteger()).incrementAndGet());
    }

    /** Three typed tasks and a closure, cancelled by a shutdown of a queue never started. */
    String report(List<String> ids) {
      WorkQueue first = fx.unstarted(recording("first"));
      for (int i = 0; i < 3; i++) {
        first.submit(WELCOME, new Welcome("user" + i + "@example.com", i));
      }
      first.enqueue(Task.of(ctx -> {}));
      ShutdownReport report = first.shutdownNow();
      report.cancelled().stream().filter(s -> s.handler() != null).forEach(s -> ids.add(s.id()));
      return report.toJsonLines();
    }

    @Test
    void aReportBecomesTasksAgainWithTheirIdsAndPayloads() throws Exception {
      List<String> ids = new ArrayList<>();
      String report = report(ids);
      List<Welcome> seen = new CopyOnWriteArrayList<>();
      WorkQueue second =
          fx.unstarted(
              WorkQueue.builder("second")
                  .handle(WELCOME, (ctx, w) -> {
                    seen.add(w);
                    deliveries.computeIfAbsent(ctx.taskId(), id -> new AtomicInteger()).incrementAndGet();
                  }));
      RequeueResult result = second.requeue(new StringReader(report));
      assertEquals(new RequeueResult(3, 0, 1, List.of()), result);
      second.shutdown();
      assertEquals(ids.size(), deliveries.size());
      assertTrue(deliveries.keySet().containsAll(ids), "each task kept its id: " + deliveries.keySet());
      assertEquals(3, seen.size());
      assertTrue(seen.contains(new Welcome("user2@example.com", 2)), seen::toString);
    }

    @Test
    void reQueueingTheSameReportTwiceRunsEachTaskOnceWhileTheFirstCopyIsPending() throws Exception {
      String report = report(new ArrayList<>());
      WorkQueue second = fx.unstarted(recording("second"));
      assertEquals(new RequeueResult(3, 0, 1, List.of()), second.requeue(new StringReader(report)));
      assertEquals(new RequeueResult(0, 3, 1, List.of()), second.requeue(new StringReader(report)));
      second.shutdown();
      assertEquals(3, deliveries.size());
      deliveries.forEach((id, n) -> assertEquals(1, n.get(), "delivered once: " + id));
      assertEquals(3, second.stats().succeeded());
    }

    @Test
    void onceTheFirstCopyHasEndedTheSameReportRunsAgain() throws Exception {
      String report = report(new ArrayList<>());
      WorkQueue second = fx.started(recording("second"));
      second.requeue(new StringReader(report));
      QueueFixture.awaitCondition("first copies done", () -> second.stats().succeeded() == 3);
      assertEquals(new RequeueResult(3, 0, 1, List.of()), second.requeue(new StringReader(report)));
      second.shutdown();
      deliveries.forEach((id, n) -> assertEquals(2, n.get(), "delivered twice: " + id));
    }

    @Test
    void badLinesAreSkippedByNumberAndTheRestIsStillRequeued() throws Exception {
      String[] good = report(new ArrayList<>()).split("\n");
      String unknown = good[1].replace("\"email.welcome\"", "\"sms.welcome\"");
      String text =
          String.join(
              "\n",
              good[0],
              "this is not JSON",
              good[1].substring(0, good[1].length() / 2),
              unknown,
              "",
              good[2],
              good[3]);
      WorkQueue second = fx.unstarted(recording("second"));
      RequeueResult result = second.requeue(new StringReader(text));
      assertEquals(2, result.requeued());
      assertEquals(1, result.notRequeueable(), "the closure");
      assertEquals(3, result.skipped().size(), result::toString);
      assertTrue(result.skipped().get(0).startsWith("line 2: not JSON"), result::toString);
      assertTrue(result.skipped().get(1).startsWith("line 3: truncated"), result::toString);
      assertEquals("line 4: queue 'second' has no handler for 'sms.welcome'", result.skipped().get(2));
    }
  }

  @Test
  void aReportOfSeveralQueuesIsRequeuedIntoTheQueueThatHandlesEachLine() throws Exception {
    TaskType<String> sms = TaskType.of("sms", new JacksonCodec<>(String.class));
    WorkQueue first =
        fx.unstarted(
            WorkQueue.builder("first").handle(WELCOME, (ctx, w) -> {}).handle(sms, (ctx, s) -> {}));
    first.submit(WELCOME, new Welcome("ada@example.com", 0));
    first.submit(sms, "+4412345");
    String report = first.shutdownNow().toJsonLines() + "{\"handler\":\"fax\",\"payload\":\"1\",\"id\":\"x\"}\n";
    List<String> got = new CopyOnWriteArrayList<>();
    WorkQueue mail = fx.unstarted(WorkQueue.builder("mail").handle(WELCOME, (ctx, w) -> got.add(w.address())));
    WorkQueue texts = fx.unstarted(WorkQueue.builder("texts").handle(sms, (ctx, s) -> got.add(s)));
    RequeueResult result = WorkQueue.requeue(new StringReader(report), mail, texts);
    assertEquals(
        new RequeueResult(2, 0, 0, List.of("line 3: none of the queues 'mail', 'texts' has a handler for 'fax'")),
        result);
    mail.shutdown();
    texts.shutdown();
    assertEquals(List.of("+4412345", "ada@example.com"), got.stream().sorted().toList());
  }

  @Test
  void listenersAndMetricsSeeATypedTaskAsTheySeeAClosure() throws Exception {
    List<List<Class<?>>> eventKinds = new ArrayList<>();
    List<Double> retries = new ArrayList<>();
    for (boolean typed : List.of(false, true)) {
      RecordingListener events = new RecordingListener();
      io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
          new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
      Work body = ctx -> {
        if (ctx.attempt() == 1) {
          throw new IllegalStateException("once");
        }
      };
      WorkQueue queue =
          fx.started(
              WorkQueue.builder(typed ? "typed" : "closure")
                  .retryPolicy(QueueFixture.NO_BACKOFF)
                  .listener(events)
                  .meterRegistry(registry)
                  .handle(WELCOME, (ctx, w) -> body.run(ctx)));
      Task<?> task =
          typed ? queue.submit(WELCOME, new Welcome("a@example.com", 0)) : queue.submit(body);
      task.await(GENEROUS);
      events.await(RecordingListener.Succeeded.class, 1);
      events.await(RecordingListener.RetryScheduled.class, 1); // with no backoff it may come last
      assertEquals(List.of(task), events.tasks(RecordingListener.Enqueued.class));
      // onEnqueued runs on the producer after the task is filed, so it may come after the start:
      // compare the events, not their order.
      eventKinds.add(
          events.events().stream().<Class<?>>map(Object::getClass)
              .sorted(java.util.Comparator.comparing(Class::getName)).toList());
      retries.add(registry.get("loomwork.retries").functionCounter().count());
    }
    assertEquals(eventKinds.get(0), eventKinds.get(1), "the same events");
    assertEquals(List.of(1.0, 1.0), retries, "the retry counter");
  }

  @Test
  void aTaskKnowsItsIdOnceEnqueued() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    WorkQueue queue = fx.started(WorkQueue.builder("ids").handle(WELCOME, (ctx, w) -> seen.add(ctx.taskId())));
    Task<?> task = Task.of(WELCOME, new Welcome("a@example.com", 0));
    assertEquals(null, task.id(), "no id before it is enqueued");
    queue.enqueue(task).await(GENEROUS);
    assertEquals(List.of(task.id()), seen);
  }

  @Test
  void everyWayToEnqueueATypedTaskRunsIt() throws Exception {
    List<String> ran = new CopyOnWriteArrayList<>();
    WorkQueue queue =
        fx.started(WorkQueue.builder("verbs").handle(WELCOME, (ctx, w) -> ran.add(w.address())));
    List<Task<?>> tasks =
        List.of(
            queue.submit(WELCOME, new Welcome("submit", 0)),
            queue.enqueue(Task.of(WELCOME, new Welcome("enqueue", 0))));
    Task<?> offered = Task.of(WELCOME, new Welcome("offer", 0));
    assertTrue(queue.offer(offered));
    Task<?> offeredWithin = Task.of(WELCOME, new Welcome("offer-timeout", 0));
    assertTrue(queue.offer(offeredWithin, Duration.ofSeconds(1)));
    for (Task<?> t : List.of(tasks.get(0), tasks.get(1), offered, offeredWithin)) {
      t.await(GENEROUS);
    }
    assertEquals(4, ran.size(), ran::toString);
  }
}
