package dev.loomwork.internal;

import dev.loomwork.Job;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.MDC;

/**
 * What a task carries from its submitter into the body's thread: the scope of its attempt's
 * observation, and the submitter's MDC. Made only when there is something to carry, so a queue
 * without tracing or MDC carry-over allocates nothing here.
 */
final class Carried {
  private Carried() {}

  /**
   * {@code job}, run on the body's thread with the attempt's observation in scope (if any) and the
   * submitter's MDC in place of the thread's (if any); both are undone when it returns.
   *
   * @param observation the attempt's observation as {@link Tracing#start} made it, or null
   * @param mdc the submitter's MDC, or null
   */
  static <T extends @Nullable Object> Job<T> job(
      Job<T> job, @Nullable Object observation, @Nullable Map<String, String> mdc) {
    return context -> {
      Map<String, String> before = null;
      if (mdc != null) {
        before = MDC.getCopyOfContextMap();
        MDC.setContextMap(mdc);
      }
      Object scope = observation == null ? null : Tracing.open(observation);
      try {
        return job.call(context);
      } finally {
        if (observation != null) {
          Tracing.close(scope);
        }
        if (mdc != null) {
          if (before == null) {
            MDC.clear();
          } else {
            MDC.setContextMap(before);
          }
        }
      }
    };
  }
}
