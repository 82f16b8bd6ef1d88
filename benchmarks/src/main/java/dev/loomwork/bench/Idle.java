package dev.loomwork.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The rest before each probe of a {@code latencyIdle_*} benchmark: the benchmark thread parks for
 * {@value #REST_MILLIS} ms before every call (untimed, as an invocation-level setup), so that the
 * threads of the queue or executor under test have finished what they were doing and parked. The
 * probe then measures a start from idle: the hand-over must wake whatever it needs. The
 * back-to-back {@code latency_*} benchmarks, by contrast, find those threads still running or
 * spinning from the previous probe.
 */
@State(Scope.Thread)
public class Idle {
  /** The rest before each probe, in milliseconds. */
  public static final int REST_MILLIS = 2;

  /** Parks the benchmark thread before the next probe. */
  @Setup(Level.Invocation)
  public void rest() {
    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(REST_MILLIS));
  }
}
