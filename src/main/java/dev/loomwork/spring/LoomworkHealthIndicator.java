package dev.loomwork.spring;

import dev.loomwork.QueueHealth;
import dev.loomwork.WorkQueue;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The queues' readiness: {@code UP} while every queue accepts tasks, {@code OUT_OF_SERVICE} once one
 * stops accepting (it is shutting down or has terminated), with each queue's lifecycle and counts as
 * details. Named {@code loomwork}: add it to the readiness group ({@code
 * management.endpoint.health.group.readiness.include=readinessState,loomwork}) and leave the liveness
 * group alone, since a queue that stopped accepting is no reason to restart the process.
 */
public final class LoomworkHealthIndicator implements HealthIndicator {
  private final LoomworkQueues queues;

  LoomworkHealthIndicator(LoomworkQueues queues) {
    this.queues = queues;
  }

  @Override
  public Health health() {
    boolean accepting = true;
    Map<String, Object> details = new TreeMap<>();
    for (Map.Entry<String, WorkQueue> e : queues.all().entrySet()) {
      QueueHealth h = e.getValue().health();
      accepting &= h.accepting();
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("lifecycle", h.lifecycle().name());
      d.put("accepting", h.accepting());
      d.put("ready", h.ready());
      d.put("waiting", h.waiting());
      d.put("running", h.running());
      d.put("capacity", h.capacity());
      d.put("concurrency", h.concurrency());
      d.put("oldestReadyAge", h.oldestReadyAge().toString());
      details.put(e.getKey(), d);
    }
    return (accepting ? Health.up() : Health.outOfService()).withDetails(details).build();
  }
}
