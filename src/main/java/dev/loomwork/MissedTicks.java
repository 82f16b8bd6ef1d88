package dev.loomwork;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link RecurringTask} does with ticks it missed: ticks that fell due more than its {@link
 * RecurringTask#lateTolerance() late tolerance} ago without running, because the process was down
 * (a durable schedule), the clock jumped, or the machine was suspended. Ticks within the tolerance
 * are never missed: they run. Immutable and thread-safe.
 */
public final class MissedTicks {
  /** The largest bound of {@link #runEach(int)}. */
  public static final int MAX_RUN_EACH = 10_000;

  /** The policies. */
  public enum Kind {
    /** The missed ticks run once together, as their latest tick. The default. */
    RUN_ONCE,
    /** The missed ticks do not run. */
    SKIP,
    /** Each missed tick runs, the latest ones up to a bound; older ones do not. */
    RUN_EACH
  }

  private static final MissedTicks RUN_ONCE = new MissedTicks(Kind.RUN_ONCE, 1);
  private static final MissedTicks SKIP = new MissedTicks(Kind.SKIP, 0);

  private final Kind kind;
  private final int atMost;

  private MissedTicks(Kind kind, int atMost) {
    this.kind = kind;
    this.atMost = atMost;
  }

  /** {@return the policy that runs the missed ticks once, as their latest tick: the default} */
  public static MissedTicks runOnce() {
    return RUN_ONCE;
  }

  /** {@return the policy that drops missed ticks} */
  public static MissedTicks skip() {
    return SKIP;
  }

  /**
   * The policy that runs each missed tick, the latest {@code atMost} of them.
   *
   * @param atMost from 1 to {@value #MAX_RUN_EACH}
   * @return the policy
   * @throws IllegalArgumentException if {@code atMost} is out of range
   */
  public static MissedTicks runEach(int atMost) {
    if (atMost < 1 || atMost > MAX_RUN_EACH) {
      throw new IllegalArgumentException(
          "atMost: " + atMost + " (expected: 1 to " + MAX_RUN_EACH + ")");
    }
    return new MissedTicks(Kind.RUN_EACH, atMost);
  }

  /** {@return the kind of policy} */
  public Kind kind() {
    return kind;
  }

  /** {@return how many missed ticks run at most: 1 for run once, 0 for skip} */
  public int atMost() {
    return atMost;
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof MissedTicks m && kind == m.kind && atMost == m.atMost;
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, atMost);
  }

  /** {@return {@code runOnce}, {@code skip} or {@code runEach(N)}} */
  @Override
  public String toString() {
    return switch (kind) {
      case RUN_ONCE -> "runOnce";
      case SKIP -> "skip";
      case RUN_EACH -> "runEach(" + atMost + ")";
    };
  }
}
