package dev.loomwork.spring;

import dev.loomwork.ShutdownReport;
import dev.loomwork.WorkQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The application's queues, by name, and their part in its lifecycle: started with the application,
 * drained when it stops.
 *
 * <p>The stop runs in phase {@link #PHASE}, after the web server's graceful shutdown (which stops
 * taking requests and waits for those in flight, whose work may still enqueue tasks) and before the
 * web server is stopped. All queues drain in parallel within {@code loomwork.shutdown.timeout}; what
 * is still pending or running then is cut and the cut is reported: a WARN line per queue and a WARN
 * line per cut task, in the JSON Lines form of {@link ShutdownReport#writeJsonLines} (a re-queue
 * file). A durable queue gives the tasks it cut back to the store, where another process takes them;
 * they are not in its report, so a WARN line says how many tasks it handed back.
 *
 * <p>Thread-safe.
 */
public final class LoomworkQueues implements SmartLifecycle {
  /**
   * The phase of the queues, chosen to stop them after the web server's graceful shutdown ({@code
   * SmartLifecycle.DEFAULT_PHASE - 1024}) and before the web server's stop ({@code DEFAULT_PHASE -
   * 2048}). Spring stops the higher phases first, so the server has stopped taking requests, and
   * the requests in flight (which may still enqueue) have ended, before the queues stop accepting;
   * and the queues have drained, and a durable queue has released its cut, before the context
   * destroys its beans and closes the {@code DataSource}. At the start the server comes first: a
   * queue accepts tasks from its build and runs them from its start.
   */
  public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 1536;

  private static final Logger log = LoggerFactory.getLogger(LoomworkQueues.class);

  private final Map<String, WorkQueue> queues;
  private final Duration drainTimeout;
  /** Guarded by {@code this}. */
  private boolean running;

  LoomworkQueues(Map<String, WorkQueue> queues, Duration drainTimeout) {
    this.queues = Map.copyOf(queues);
    this.drainTimeout = drainTimeout;
  }

  /**
   * The queue named {@code name}.
   *
   * @param name the queue's name
   * @return the queue
   * @throws IllegalArgumentException if there is no such queue
   */
  public WorkQueue get(String name) {
    Objects.requireNonNull(name, "name");
    WorkQueue q = queues.get(name);
    if (q == null) {
      throw new IllegalArgumentException(
          "name: '" + name + "' (expected: one of the queues " + queues.keySet().stream().sorted().toList()
              + ", declared under loomwork.queues or by a QueueHandler bean)");
    }
    return q;
  }

  /**
   * Every queue, by name.
   *
   * @return an unmodifiable map
   */
  public Map<String, WorkQueue> all() {
    return queues;
  }

  /** {@return how long the queues drain at the application's stop before what is left is cut} */
  public Duration drainTimeout() {
    return drainTimeout;
  }

  @Override
  public synchronized void start() {
    if (running) {
      return;
    }
    for (WorkQueue q : queues.values()) {
      q.start();
    }
    running = true;
    log.info("loomwork: started {} queue(s): {}", queues.size(), queues.keySet().stream().sorted().toList());
  }

  @Override
  public void stop() {
    List<WorkQueue> toStop;
    synchronized (this) {
      if (!running) {
        return;
      }
      running = false;
      toStop = new ArrayList<>(queues.values());
    }
    drain(toStop);
  }

  private void drain(List<WorkQueue> toStop) {
    log.info("loomwork: draining {} queue(s) within {}", toStop.size(), drainTimeout);
    long[] handedBefore = new long[toStop.size()];
    for (int i = 0; i < handedBefore.length; i++) {
      handedBefore[i] = toStop.get(i).stats().handedBack();
    }
    List<ShutdownReport> reports = WorkQueue.join(drainTimeout, toStop.toArray(WorkQueue[]::new));
    for (int i = 0; i < reports.size(); i++) {
      ShutdownReport r = reports.get(i);
      // A durable queue's cut tasks are released to the store, not listed in the report: the
      // queue's handed-back count tells them (with any retry it handed to the store meanwhile).
      long handedBack = toStop.get(i).stats().handedBack() - handedBefore[i];
      if (handedBack > 0) {
        log.warn(
            "loomwork: queue '{}' handed back {} task(s) to the store at shutdown after {} ms"
                + " (cut attempts released, retries scheduled there): another process takes them",
            r.queue(), handedBack, r.elapsed().toMillis());
      }
      if (r.drained()) {
        if (handedBack == 0) {
          log.info("loomwork: queue '{}' drained in {} ms", r.queue(), r.elapsed().toMillis());
        }
        continue;
      }
      log.warn(
          "loomwork: queue '{}' cut at shutdown after {} ms: {} task(s) cancelled, {} abandoned;"
              + " their re-queue lines follow",
          r.queue(), r.elapsed().toMillis(), r.cancelled().size(), r.abandoned().size());
      for (String line : r.toJsonLines().split("\n")) {
        if (!line.isEmpty()) {
          log.warn("loomwork: cut {}", line);
        }
      }
    }
    log.info("loomwork: shutdown complete");
  }

  @Override
  public synchronized boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }

}
