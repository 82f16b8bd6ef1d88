package dev.loomwork.internal;

import org.jspecify.annotations.Nullable;

final class Throwables {
  private Throwables() {}

  /**
   * Rethrows a body's failure as it was thrown, so that the task's error is the real failure and not
   * a wrapper: checked exceptions as themselves, errors as themselves.
   */
  static Exception rethrow(@Nullable Throwable failure) {
    if (failure instanceof Exception e) {
      return e;
    }
    if (failure instanceof Error e) {
      throw e;
    }
    return new IllegalStateException("attempt failed without a cause", failure);
  }
}
