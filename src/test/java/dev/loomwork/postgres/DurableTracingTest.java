package dev.loomwork.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.ChildJvm;
import dev.loomwork.Task;
import dev.loomwork.TestTracing;
import io.micrometer.observation.Observation;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A durable task carries the W3C trace context of its enqueue in its row, and its attempts, run by
 * another process (a child JVM running {@link TracedWorkerMain}, in this JVM's runner mode), continue
 * that trace: each attempt span's parent is the enqueue span, itself a child of the request that
 * enqueued; the retry is a second attempt span in the same trace.
 */
@ExtendWith(PostgresExtension.class)
class DurableTracingTest {
  final DataSource ds;
  final String url;
  final List<DurableProcessTest.Worker> workers = new ArrayList<>();
  final TestTracing tracing = new TestTracing();

  DurableTracingTest(DataSource ds) {
    this.ds = ds;
    this.url = ((UrlDataSource) ds).url();
  }

  @BeforeEach
  void empty() throws Exception {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
  }

  @AfterEach
  void stop() {
    for (DurableProcessTest.Worker w : workers) {
      w.process.destroyForcibly();
    }
    tracing.close();
  }

  DurableProcessTest.Worker start(String queue) throws Exception {
    DurableProcessTest.Worker w =
        new DurableProcessTest.Worker(ChildJvm.start(List.of("-Xmx256m"), TracedWorkerMain.class, url, queue));
    workers.add(w);
    w.await(line -> line.equals("ready"));
    return w;
  }

  @Test
  void attemptsInAnotherProcessContinueTheEnqueueingRequestsTrace() throws Exception {
    DurableProcessTest.Worker worker = start("traced");
    PostgresStore store = PostgresStore.builder(ds).observationRegistry(tracing.registry).build();
    Observation request = Observation.start("request", tracing.registry);
    long id;
    try (Observation.Scope ignored = request.openScope()) {
      id = store.enqueue("traced", Task.of(DurableQueueTest.JOB, 1));
    } finally {
      request.stop();
    }
    SpanData requestSpan = tracing.await("request", 1).getFirst();
    SpanData enqueue = tracing.await("traced enqueue", 1).getFirst();
    assertEquals(requestSpan.getTraceId(), enqueue.getTraceId());
    assertEquals(requestSpan.getSpanId(), enqueue.getParentSpanId(), "the enqueue is a child of the request");
    assertEquals(io.opentelemetry.api.trace.SpanKind.PRODUCER, enqueue.getKind());

    worker.await(line -> line.equals("done"));
    List<String[]> attempts =
        worker.lines().stream().filter(l -> l.startsWith("span traced_attempt ")).map(l -> l.split(" ")).toList();
    assertEquals(2, attempts.size(), "two attempts in the worker, two spans: " + worker.lines());
    for (String[] a : attempts) {
      assertEquals(requestSpan.getTraceId(), a[2], "the attempt is in the request's trace: " + String.join(" ", a));
      assertEquals(enqueue.getSpanId(), a[4], "the attempt's parent is the enqueue: " + String.join(" ", a));
    }
    assertEquals("failed", attempts.get(0)[5]);
    assertEquals("succeeded", attempts.get(1)[5]);
    assertEquals("succeeded", store.find(id).orElseThrow().state().name().toLowerCase());
  }

  @Test
  void anUntracedEnqueueKeepsNoTraceContextAndATracedOneKeepsTheW3cHeader() throws Exception {
    long plain = PostgresStore.of(ds).enqueue("quiet", Task.of(DurableQueueTest.JOB, 1));
    long traced =
        PostgresStore.builder(ds).observationRegistry(tracing.registry).build()
            .enqueue("quiet", Task.of(DurableQueueTest.JOB, 2));
    assertNull(traceparent(plain));
    String header = traceparent(traced);
    assertNotNull(header);
    SpanData enqueue = tracing.await("quiet enqueue", 1).getFirst();
    assertTrue(
        header.startsWith("00-" + enqueue.getTraceId() + "-" + enqueue.getSpanId() + "-"),
        "the row's traceparent names the enqueue span: " + header);
  }

  String traceparent(long id) throws Exception {
    try (var c = ds.getConnection();
        var s = c.prepareStatement("SELECT traceparent FROM loomwork_task WHERE id = ?")) {
      s.setLong(1, id);
      try (var r = s.executeQuery()) {
        r.next();
        return r.getString(1);
      }
    }
  }
}
