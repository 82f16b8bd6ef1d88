package dev.loomwork.spring;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.console.ConsoleAuthorizer;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The web console in a Spring Boot application, by the auto-configuration alone: off unless {@code
 * loomwork.console.enabled=true}; then on 127.0.0.1, serving its pages over the application's
 * queues, read-only unless the application defines a {@link ConsoleAuthorizer} bean, and stopped
 * with the application. {@code LoomworkAutoConfigurationTest} shows it with the store's queues.
 */
class LoomworkConsoleTest {
  final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(LoomworkAutoConfiguration.class))
          .withPropertyValues("loomwork.queues.mail.concurrency=2", "loomwork.queues.thumbs.concurrency=1");

  final HttpClient http = HttpClient.newBuilder().connectTimeout(GENEROUS).build();

  HttpResponse<String> get(URI uri) throws Exception {
    return http.send(HttpRequest.newBuilder(uri).timeout(GENEROUS).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void offByDefault() {
    runner.run(
        context -> {
          assertTrue(context.getBean(LoomworkQueues.class).isRunning());
          assertTrue(context.getBeansOfType(LoomworkConsole.class).isEmpty(), "no console unless enabled");
        });
  }

  @Test
  void enabledItServesItsPagesOnTheLoopbackAddressReadOnlyAndStopsWithTheApplication() throws Exception {
    AtomicReference<InetSocketAddress> bound = new AtomicReference<>();
    runner
        .withPropertyValues("loomwork.console.enabled=true")
        .run(
            context -> {
              LoomworkConsole console = context.getBean(LoomworkConsole.class);
              assertTrue(console.isRunning());
              InetSocketAddress address = console.address();
              bound.set(address);
              assertEquals("127.0.0.1", address.getAddress().getHostAddress());
              assertTrue(address.getPort() > 0);
              assertEquals("http://127.0.0.1:" + address.getPort() + "/", console.uri().toString());
              assertTrue(console.toString().contains("read-only"), console.toString());

              HttpResponse<String> queues = get(console.uri());
              assertEquals(200, queues.statusCode(), queues.body());
              assertTrue(queues.body().contains("mail") && queues.body().contains("thumbs"), queues.body());
              HttpResponse<String> workers = get(console.uri().resolve("/workers"));
              assertEquals(200, workers.statusCode(), workers.body());
              assertTrue(workers.body().contains("thumbs"), workers.body());
            });
    // The context is closed: the console's server no longer accepts.
    URI after = URI.create("http://127.0.0.1:" + bound.get().getPort() + "/");
    assertThrows(ConnectException.class, () -> get(after));
  }

  @Test
  void anAuthorizerBeanEnablesTheActions() {
    runner
        .withPropertyValues("loomwork.console.enabled=true")
        .withBean(ConsoleAuthorizer.class, ConsoleAuthorizer::allowAll)
        .run(
            context -> {
              LoomworkConsole console = context.getBean(LoomworkConsole.class);
              assertFalse(console.toString().contains("read-only"), console.toString());
            });
  }

  @Test
  void aPortOutOfRangeFailsNamingTheProperty() {
    runner
        .withPropertyValues("loomwork.console.enabled=true", "loomwork.console.port=70000")
        .run(
            context -> {
              String m = LoomworkPropertiesTest.failure(context.getStartupFailure(), "loomwork.console.port");
              assertTrue(m.contains("port: 70000 (expected: 0 to 65535)"), m);
            });
  }

  @Test
  void anUnknownAddressFailsNamingTheProperty() {
    runner
        .withPropertyValues("loomwork.console.enabled=true", "loomwork.console.address=[::1")
        .run(
            context -> {
              String m = LoomworkPropertiesTest.failure(context.getStartupFailure(), "loomwork.console.address");
              assertTrue(m.contains("expected: an IP address or a known host name"), m);
            });
  }

  @Test
  void aRefreshOutOfRangeFailsNamingTheProperty() {
    runner
        .withPropertyValues("loomwork.console.enabled=true", "loomwork.console.refresh=10ms")
        .run(
            context -> {
              String m = LoomworkPropertiesTest.failure(context.getStartupFailure(), "loomwork.console.refresh");
              assertTrue(m.contains("expected: 0, or 500 ms to 1 hour"), m);
            });
  }

  /** The configuration metadata the jar carries names the console's properties, for IDE completion. */
  @Test
  void theMetadataNamesTheConsoleProperties() throws Exception {
    try (var in = LoomworkConsole.class.getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
      assertTrue(in != null, "the configuration processor's metadata is on the class path");
      String json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      for (String p : new String[] {"enabled", "address", "port", "refresh"}) {
        assertTrue(json.contains("\"name\": \"loomwork.console." + p + "\""), p + " in\n" + json);
      }
      assertTrue(json.contains("\"defaultValue\": \"127.0.0.1\""), json);
    }
  }
}
