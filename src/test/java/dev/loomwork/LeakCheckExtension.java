package dev.loomwork;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves loomwork threads alive or uncaught exceptions behind. Registered for every
 * test class by JUnit's automatic extension registration ({@code
 * META-INF/services/org.junit.jupiter.api.extension.Extension} and {@code
 * junit.jupiter.extensions.autodetection.enabled=true} in {@code junit-platform.properties}).
 *
 * <p><b>Threads.</b> After each test (after its {@code @AfterEach} methods) it takes a thread dump with
 * {@link HotSpotDiagnosticMXBean#dumpThreads} in JSON, which, unlike {@link
 * Thread#getAllStackTraces()}, lists virtual threads too. A thread is a loomwork thread if its name
 * starts with {@code loomwork-} (dispatcher, scheduler, default attempt threads, {@code join} helpers)
 * or if it is running code of {@code dev.loomwork.internal} (an attempt thread from a custom factory, a
 * producer stuck in {@code enqueue}). Threads that end within {@link #GRACE} are fine: the dispatcher
 * ends just after {@code shutdown} returns. Platform threads are joined with the remaining deadline;
 * virtual threads, which a dump names but does not hand over, are re-checked with a short, growing
 * pause until the deadline. A dump costs a few milliseconds, so this runs after every test; after each
 * class it checks again, for threads started in {@code @BeforeAll}/{@code @AfterAll}. A thread reported
 * once is not reported again by later tests.
 *
 * <p><b>Uncaught exceptions.</b> It installs a default {@link Thread.UncaughtExceptionHandler} that
 * records every uncaught exception (and passes it on to the previous handler, or prints it); a test
 * during which one was recorded fails.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {

  /** How long threads get to end after a test before they count as leaked. */
  static final Duration GRACE = Duration.ofSeconds(5);

  private static final String PREFIX = "loomwork-";
  private static final String ENGINE_FRAMES = "dev.loomwork.internal.";

  private static final Queue<String> uncaught = new ConcurrentLinkedQueue<>();
  private static final Set<String> reported = ConcurrentHashMap.newKeySet();
  private static final AtomicLong dumps = new AtomicLong();
  private static final ObjectMapper json = new ObjectMapper();
  private static volatile boolean installed;
  private static volatile Path dumpDir;

  /** A loomwork thread seen in a dump. */
  record LiveThread(long tid, String name, String state, boolean virtual, List<String> stack) {
    @Override
    public String toString() {
      StringBuilder s = new StringBuilder();
      s.append("  \"").append(name).append("\" tid=").append(tid).append(virtual ? " virtual " : " platform ")
          .append(state);
      stack.stream().limit(12).forEach(f -> s.append("\n      at ").append(f));
      return s.toString();
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    install();
  }

  /**
   * Marks a test class whose queues live as long as the class, not a test: a Spring application
   * context that the class's tests share, closed after them ({@code @DirtiesContext}). Its threads are
   * checked after the class only.
   */
  @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME)
  @java.lang.annotation.Target(java.lang.annotation.ElementType.TYPE)
  public @interface QueuesLiveForTheClass {}

  @Override
  public void afterEach(ExtensionContext context) {
    if (context.getTestClass().map(c -> c.isAnnotationPresent(QueuesLiveForTheClass.class)).orElse(false)) {
      return;
    }
    check(context.getDisplayName());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    check(context.getDisplayName() + " (after all)");
  }

  private static void check(String where) {
    List<String> errors = takeUncaught();
    List<LiveThread> leaks = leakedThreads(GRACE, reported);
    leaks.forEach(t -> reported.add(key(t)));
    if (errors.isEmpty() && leaks.isEmpty()) {
      return;
    }
    StringBuilder message = new StringBuilder(where).append(" left behind:");
    if (!leaks.isEmpty()) {
      message.append("\n").append(leaks.size()).append(" loomwork thread(s) alive ")
          .append(GRACE.toSeconds()).append(" s after the test:");
      leaks.forEach(t -> message.append("\n").append(t));
    }
    if (!errors.isEmpty()) {
      message.append("\n").append(errors.size()).append(" uncaught exception(s):");
      errors.forEach(e -> message.append("\n  ").append(e));
    }
    throw new AssertionError(message.toString());
  }

  private static String key(LiveThread t) {
    return t.tid() + "/" + t.name();
  }

  /** Installs the recording default handler, once per JVM. */
  static synchronized void install() {
    if (installed) {
      return;
    }
    Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler(
        (thread, error) -> {
          uncaught.add("in \"" + thread.getName() + "\": " + error);
          if (previous != null) {
            previous.uncaughtException(thread, error);
          } else {
            System.err.print("Exception in thread \"" + thread.getName() + "\" ");
            error.printStackTrace();
          }
        });
    installed = true;
  }

  /** Returns and forgets the uncaught exceptions recorded so far. */
  static List<String> takeUncaught() {
    List<String> taken = new ArrayList<>();
    for (String e; (e = uncaught.poll()) != null; ) {
      taken.add(e);
    }
    return taken;
  }

  /** How many thread dumps this JVM took; for the cost figure in the report. */
  static long dumps() {
    return dumps.get();
  }

  /**
   * Returns the loomwork threads, other than the caller and those in {@code ignore}, still alive
   * {@code grace} from now; returns as soon as there are none.
   */
  static List<LiveThread> leakedThreads(Duration grace, Set<String> ignore) {
    long deadline = System.nanoTime() + grace.toNanos();
    long pauseNanos = TimeUnit.MILLISECONDS.toNanos(1);
    while (true) {
      List<LiveThread> live = new ArrayList<>();
      for (LiveThread t : loomworkThreads()) {
        if (!ignore.contains(key(t))) {
          live.add(t);
        }
      }
      long left = deadline - System.nanoTime();
      if (live.isEmpty() || left <= 0) {
        return live;
      }
      // Join the platform threads we can reach; re-check virtual ones after a growing pause.
      Map<Long, Thread> platform = new HashMap<>();
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        platform.put(t.threadId(), t);
      }
      boolean joinedAny = false;
      for (LiveThread t : live) {
        Thread thread = platform.get(t.tid());
        long remaining = deadline - System.nanoTime();
        if (thread != null && remaining > 0) {
          try {
            thread.join(Duration.ofNanos(remaining));
            joinedAny = true;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return live;
          }
        }
      }
      if (!joinedAny) {
        LockSupport.parkNanos(Math.min(pauseNanos, Math.max(0, deadline - System.nanoTime())));
        pauseNanos = Math.min(pauseNanos * 2, TimeUnit.MILLISECONDS.toNanos(64));
      }
    }
  }

  /** The loomwork threads alive now, virtual ones included, other than the calling thread. */
  static List<LiveThread> loomworkThreads() {
    long self = Thread.currentThread().threadId();
    List<LiveThread> found = new ArrayList<>();
    JsonNode dump = dump();
    for (JsonNode container : dump.path("threadDump").path("threadContainers")) {
      for (JsonNode thread : container.path("threads")) {
        long tid = thread.path("tid").asLong();
        String name = thread.path("name").asText("");
        List<String> stack = new ArrayList<>();
        boolean engine = false;
        for (JsonNode frame : thread.path("stack")) {
          String f = frame.asText();
          stack.add(f);
          engine |= f.startsWith(ENGINE_FRAMES) || f.contains("/" + ENGINE_FRAMES);
        }
        if (tid == self || !(name.startsWith(PREFIX) || engine)) {
          continue;
        }
        found.add(new LiveThread(tid, name, thread.path("state").asText(), thread.has("virtual")
            ? thread.path("virtual").asBoolean() : !isPlatform(tid), stack));
      }
    }
    return found;
  }

  private static boolean isPlatform(long tid) {
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.threadId() == tid) {
        return true;
      }
    }
    return false;
  }

  private static JsonNode dump() {
    try {
      Path dir = dumpDir;
      if (dir == null) {
        synchronized (LeakCheckExtension.class) {
          if (dumpDir == null) {
            dumpDir = Files.createTempDirectory("loomwork-leakcheck");
            dumpDir.toFile().deleteOnExit();
          }
          dir = dumpDir;
        }
      }
      Path file = dir.resolve("dump-" + dumps.incrementAndGet() + ".json");
      ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
          .dumpThreads(file.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.JSON);
      try {
        return json.readTree(file.toFile());
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not take a thread dump", e);
    }
  }
}
