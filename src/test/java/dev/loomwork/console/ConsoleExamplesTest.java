package dev.loomwork.console;

import static dev.loomwork.console.ConsoleFixture.QUEUE;
import static dev.loomwork.console.ConsoleFixture.get;
import static dev.loomwork.console.ConsoleFixture.post;
import static dev.loomwork.console.ConsoleFixture.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.BasicAuthenticator;
import dev.loomwork.WorkQueue;
import dev.loomwork.admin.MemoryAdmin;
import dev.loomwork.postgres.PostgresExtension;
import dev.loomwork.postgres.PostgresStore;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The console's examples in docs/console.md and the README, run. */
@ExtendWith(PostgresExtension.class)
class ConsoleExamplesTest {
  private static final Logger log = LoggerFactory.getLogger(ConsoleExamplesTest.class);

  final DataSource ds;

  ConsoleExamplesTest(DataSource ds) {
    this.ds = ds;
  }

  @Test
  void startsAConsoleOverADurableStoreAndQueuesInMemory() throws Exception {
    try (ConsoleFixture fixture = new ConsoleFixture(ds);
        WorkQueue thumbnails = WorkQueue.builder("thumbnails").build()) {
      thumbnails.start();
      PostgresStore store = fixture.store;
      int consolePort = 0; // any free port: a test must not hold a fixed one
      // README:console-start
      Console console = Console.builder()
          .admin(store.admin())              // every queue of a PostgreSQL store: actions allowed
          .admin(MemoryAdmin.of(thumbnails)) // queues in this process's memory: read-only
          .authorizer(ConsoleAuthorizer.allowAll()) // actions for whoever reaches 127.0.0.1
          .port(consolePort)                 // 0 (the default): any free port
          .build()
          .start();
      log.info("console at {}", console.uri()); // http://127.0.0.1:<port>/
      // README:end
      try (console) {
        String page = get(console.uri()).body();
        assertTrue(page.contains("data-queue=\"thumbnails\""), page);
        assertTrue(page.contains("data-action=\"pause\""), page);
      }
    }
  }

  @Test
  void theReadmesReadOnlyConsole() throws Exception {
    try (ConsoleFixture fixture = new ConsoleFixture(ds)) {
      PostgresStore store = fixture.store;
      // README:console-readme
      Console console = Console.builder().admin(store.admin()).build().start(); // http://127.0.0.1:<port>/
      // README:end
      try (console) {
        assertTrue(console.address().getAddress().isLoopbackAddress());
        String page = get(console.uri()).body();
        assertTrue(page.contains("read-only") && !page.contains("method=\"post\""), page);
      }
    }
  }

  @Test
  void aBasicAuthenticatorAndAnAuthoriserOfOperators() throws Exception {
    try (ConsoleFixture fixture = new ConsoleFixture(ds)) {
      PostgresStore store = fixture.store;
      Map<String, String> passwords = Map.of("ada", "correct horse", "bob", "battery staple");
      // README:console-authenticator
      Set<String> operators = Set.of("ada");
      Console console = Console.builder()
          .admin(store.admin())
          .authenticator(new BasicAuthenticator("loomwork console", StandardCharsets.UTF_8) {
            @Override
            public boolean checkCredentials(String user, String password) {
              String expected = passwords.get(user); // your own user store
              return expected != null && MessageDigest.isEqual(
                  expected.getBytes(StandardCharsets.UTF_8), password.getBytes(StandardCharsets.UTF_8));
            }
          })
          .authorizer(action -> operators.contains(action.principal())) // bob may look, not act
          .build()
          .start();
      // README:end
      try (console) {
        URI base = console.uri();
        assertEquals(401, get(base).statusCode(), "no page without credentials");
        String ada = "Basic " + Base64.getEncoder().encodeToString("ada:correct horse".getBytes(StandardCharsets.UTF_8));
        String bob = "Basic " + Base64.getEncoder().encodeToString("bob:battery staple".getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> page = ConsoleFixture.HTTP.send(HttpRequest.newBuilder(base).header("Authorization", bob)
            .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, page.statusCode());
        String form = "src=0&queue=" + QUEUE + "&csrf=" + token(page.body());
        assertEquals(403, post(base.resolve("actions/pause"), form, "Authorization", bob).statusCode(), "bob");
        assertEquals(List.of(), fixture.admin.pausedQueues());
        assertEquals(303, post(base.resolve("actions/pause"), form, "Authorization", ada).statusCode(), "ada");
        assertEquals(List.of(QUEUE), fixture.admin.pausedQueues());
        fixture.admin.resume(QUEUE);
      }
    }
  }
}
