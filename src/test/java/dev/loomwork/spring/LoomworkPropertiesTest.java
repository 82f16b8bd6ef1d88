package dev.loomwork.spring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.WorkQueue;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * loomwork's properties, bound by the auto-configuration alone (no web server, no DataSource): good
 * values reach the queues, and a bad one fails the start with an error that names the property and
 * the expectation.
 */
class LoomworkPropertiesTest {
  final ApplicationContextRunner runner =
      new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(LoomworkAutoConfiguration.class));

  /** The start's failure for {@code property}, whose chain must hold an error naming it. */
  static String failure(Throwable startFailure, String property) {
    for (Throwable t = startFailure; t != null; t = t.getCause()) {
      if (t instanceof InvalidConfigurationPropertyValueException e) {
        assertEquals(property, e.getName());
        return e.getMessage();
      }
      if (t.getMessage() != null && t.getMessage().contains(property)) {
        return t.getMessage();
      }
    }
    throw new AssertionError("no error names " + property, startFailure);
  }

  @Test
  void goodValuesReachTheQueuesAndTheQueuesStopWithTheContext() {
    runner
        .withPropertyValues(
            "loomwork.queues.mail.concurrency=4",
            "loomwork.queues.mail.capacity=20",
            "loomwork.queues.mail.retry.retries=0",
            "loomwork.queues.mail.retry.attempt-timeout=2s",
            "loomwork.shutdown.timeout=3s")
        .run(
            context -> {
              LoomworkQueues queues = context.getBean(LoomworkQueues.class);
              WorkQueue mail = queues.get("mail");
              assertEquals(4, mail.health().concurrency());
              assertEquals(20, mail.health().capacity());
              assertEquals(Duration.ofSeconds(3), queues.drainTimeout());
              assertTrue(queues.isRunning());
              IllegalArgumentException e =
                  org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> queues.get("nope"));
              assertTrue(e.getMessage().startsWith("name: 'nope' (expected: one of the queues [mail]"), e.getMessage());
            });
  }

  @Test
  void theDrainTimeoutFollowsTheLifecyclePhaseTimeout() {
    runner
        .withPropertyValues("loomwork.queues.q.abandon-after=2s", "spring.lifecycle.timeout-per-shutdown-phase=20s")
        .run(context -> assertEquals(Duration.ofSeconds(17), context.getBean(LoomworkQueues.class).drainTimeout()));
  }

  @Test
  void aConcurrencyOutOfRangeFailsNamingTheProperty() {
    runner
        .withPropertyValues("loomwork.queues.mail.concurrency=0")
        .run(
            context -> {
              assertNotNull(context.getStartupFailure());
              String m = failure(context.getStartupFailure(), "loomwork.queues.mail.concurrency");
              assertTrue(m.contains("concurrency: 0 (expected: > 0)") || m.contains("expected"), m);
            });
  }

  @Test
  void aJitterOutOfRangeFailsNamingTheProperty() {
    runner
        .withPropertyValues("loomwork.queues.mail.retry.jitter=1.5")
        .run(
            context -> {
              String m = failure(context.getStartupFailure(), "loomwork.queues.mail.retry.jitter");
              assertTrue(m.contains("jitter: 1.5 (expected: in [0, 1])"), m);
            });
  }

  @Test
  void aMaxBackoffBelowTheInitialFailsNamingTheProperty() {
    runner
        .withPropertyValues(
            "loomwork.queues.mail.retry.initial-backoff=5s", "loomwork.queues.mail.retry.max-backoff=1s")
        .run(
            context -> {
              String m = failure(context.getStartupFailure(), "loomwork.queues.mail.retry.max-backoff");
              assertTrue(m.contains("max: PT1S (expected: >= initial PT5S)"), m);
            });
  }

  @Test
  void aMisspeltPropertyFailsTheStart() {
    runner
        .withPropertyValues("loomwork.queues.mail.concurency=4")
        .run(
            context -> {
              assertNotNull(context.getStartupFailure(), "an unknown key is an error, not ignored");
              String m = failure(context.getStartupFailure(), "loomwork");
              assertTrue(m.contains("loomwork"), m);
            });
  }

  @Test
  void aDurableQueueWithoutAStoreFailsNamingTheProperty() {
    runner
        .withPropertyValues("loomwork.queues.hooks.durable=true")
        .run(
            context -> {
              String m = failure(context.getStartupFailure(), "loomwork.queues.hooks.durable");
              assertTrue(m.contains("a durable queue needs the PostgreSQL store"), m);
            });
  }

}
