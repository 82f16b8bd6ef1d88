package dev.loomwork.spring;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.LeakCheckExtension;
import dev.loomwork.QueueHealth;
import dev.loomwork.Task;
import dev.loomwork.WorkQueue;
import dev.loomwork.postgres.PostgresExtension;
import dev.loomwork.postgres.PostgresSchema;
import dev.loomwork.postgres.PostgresStore;
import dev.loomwork.spring.app.SpringTestApp;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A real Spring Boot application ({@link SpringTestApp}: web server, actuator, a DataSource on the
 * embedded PostgreSQL) with loomwork's auto-configuration: the properties bind, the store migrates
 * the empty database, the handler beans run, and actuator's health and metrics show the queues.
 */
@LeakCheckExtension.QueuesLiveForTheClass
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_CLASS) // its queues end with the class
@SpringBootTest(
    classes = SpringTestApp.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "loomwork.queues.email.concurrency=3",
      "loomwork.queues.email.capacity=50",
      "loomwork.queues.email.retry.retries=1",
      "loomwork.queues.email.retry.initial-backoff=10ms",
      "loomwork.queues.hooks.durable=true",
      "loomwork.queues.spare.concurrency=1",
      "loomwork.store.poll-interval=100ms",
      "management.endpoints.web.exposure.include=health,metrics",
      "management.endpoint.health.show-details=always",
      "management.endpoint.health.probes.enabled=true",
      "management.endpoint.health.group.readiness.include=readinessState,loomwork",
      "loomwork.console.enabled=true",
    })
class LoomworkAutoConfigurationTest {
  @DynamicPropertySource
  static void database(DynamicPropertyRegistry registry) throws Exception {
    String url = PostgresExtension.createDatabaseUrl("spring", false); // empty: the store migrates it
    registry.add("spring.datasource.url", () -> url);
  }

  @Autowired LoomworkQueues queues;
  @Autowired PostgresStore store;
  @Autowired DataSource dataSource;
  @Autowired MeterRegistry meters;
  @Autowired LoomworkConsole console;
  @LocalServerPort int port;

  final HttpClient http = HttpClient.newBuilder().connectTimeout(GENEROUS).build();

  HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).timeout(GENEROUS).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void propertiesBindToTheQueues() {
    assertEquals(java.util.Set.of("email", "hooks", "spare"), queues.all().keySet());
    QueueHealth email = queues.get("email").health();
    assertEquals(3, email.concurrency());
    assertEquals(50, email.capacity());
    assertEquals(1, queues.get("spare").health().concurrency());
    assertEquals(WorkQueue.Builder.DEFAULT_CONCURRENCY, queues.get("hooks").health().concurrency());
    assertTrue(queues.isRunning());
  }

  @Test
  void theStoreMigratedTheApplicationsDatabase() throws Exception {
    assertEquals(PostgresSchema.VERSION, PostgresSchema.version(dataSource));
  }

  @Test
  void handlerBeansRunMemoryAndDurableTasks() throws Exception {
    queues.get("email").enqueue(Task.of(SpringTestApp.WELCOME, "ada")).await(GENEROUS);
    assertTrue(SpringTestApp.ran.contains("email:ada"), SpringTestApp.ran.toString());

    HttpResponse<String> posted =
        http.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/hooks?what=h1"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .timeout(GENEROUS)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, posted.statusCode(), posted.body());
    long id = Long.parseLong(posted.body());
    SpringTestApp.awaitRan("hook:h1");
    assertEquals("hooks", store.find(id).orElseThrow().queue());
  }

  @Test
  void actuatorMetricsShowTheQueues() throws Exception {
    queues.get("email").enqueue(Task.of(SpringTestApp.WELCOME, "metrics")).await(GENEROUS);
    assertTrue(meters.get("loomwork.tasks.submitted").tag("queue", "email").functionCounter().count() >= 1);
    HttpResponse<String> r = get("/actuator/metrics/loomwork.tasks.submitted?tag=queue:email");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("\"loomwork.tasks.submitted\""), r.body());
    HttpResponse<String> all = get("/actuator/metrics/loomwork.tasks.submitted");
    for (String q : new String[] {"email", "hooks", "spare"}) {
      assertTrue(all.body().contains("\"" + q + "\""), "queue " + q + " in " + all.body());
    }
  }

  @Test
  void healthShowsTheQueuesAndReadinessGoesOutOfServiceWhenOneStopsAcceptingLivenessDoesNot()
      throws Exception {
    HttpResponse<String> health = get("/actuator/health");
    assertEquals(200, health.statusCode(), health.body());
    assertTrue(health.body().contains("\"loomwork\""), health.body());
    assertEquals(200, get("/actuator/health/readiness").statusCode());

    // The last test of the class to touch "spare": shut down, it refuses tasks.
    queues.get("spare").shutdown();
    HttpResponse<String> readiness = get("/actuator/health/readiness");
    assertEquals(503, readiness.statusCode(), readiness.body());
    assertTrue(readiness.body().contains("OUT_OF_SERVICE"), readiness.body());
    HttpResponse<String> liveness = get("/actuator/health/liveness");
    assertEquals(200, liveness.statusCode(), liveness.body());
  }

  @Test
  void theConsoleShowsTheStoresQueuesAndTheMemoryQueuesOnItsOwnPort() throws Exception {
    store.enqueue("hooks", Task.of(SpringTestApp.HOOK, "console"));
    SpringTestApp.awaitRan("hook:console");
    assertEquals("127.0.0.1", console.address().getAddress().getHostAddress());
    assertTrue(console.address().getPort() != port, "a port of its own");
    HttpResponse<String> page =
        http.send(HttpRequest.newBuilder(console.uri()).timeout(GENEROUS).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode(), page.body());
    for (String q : new String[] {"hooks", "email"}) {
      assertTrue(page.body().contains(q), "queue " + q + " in " + page.body());
    }
  }
}
