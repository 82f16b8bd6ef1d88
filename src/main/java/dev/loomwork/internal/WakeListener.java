package dev.loomwork.internal;

import dev.loomwork.internal.DurableBackend.Listening;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The listen loop of a durable queue: holds one connection subscribed to the queue's wake-ups, and
 * wakes the claimer at each. Wake-ups sent while nobody listened are lost, so each new subscription
 * claims once. Stopping closes the connection, which ends a wait on it.
 */
final class WakeListener extends StoreLoop {
  private static final Duration WAIT = Duration.ofMillis(250);

  private final String queue;
  private final DurableBackend backend;
  private final Claimer claimer;
  private final StoreMeters meters;
  private volatile @Nullable Listening listening;

  WakeListener(String queue, DurableBackend backend, Claimer claimer, Outage outage, StoreMeters meters) {
    super("listener", outage, meters);
    this.queue = queue;
    this.backend = backend;
    this.claimer = claimer;
    this.meters = meters;
  }

  @Override
  long turn() throws Exception {
    try (Listening l = backend.listen(queue)) {
      listening = l;
      if (closed()) {
        return 0;
      }
      healthy(); // subscribed: the store answers
      claimer.wake();
      while (!closed()) {
        if (l.await(WAIT)) {
          meters.notified();
          claimer.wake();
        }
      }
    } finally {
      listening = null;
    }
    return 0;
  }

  @Override
  void unblock() {
    Listening l = listening;
    if (l != null) {
      l.close();
    }
  }
}
