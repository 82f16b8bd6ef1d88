package dev.loomwork.postgres;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.jspecify.annotations.Nullable;

/** What a worker row records of its process, for an operator's list of workers. */
final class ProcessFacts {

  /** This process's id. */
  static final long PID = ProcessHandle.current().pid();

  /** The host name, once looked up; guarded by the class's monitor. */
  private static @Nullable String host;

  private static boolean looked;

  private ProcessFacts() {}

  /**
   * This host's name: the first call looks it up (which may ask DNS, so it runs on a store thread,
   * never a caller's), later ones reuse it; null if the lookup failed.
   */
  static synchronized @Nullable String host() {
    if (!looked) {
      looked = true;
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (UnknownHostException | SecurityException e) {
        String env = System.getenv("HOSTNAME");
        host = env == null || env.isBlank() ? null : env;
      }
    }
    return host;
  }
}
