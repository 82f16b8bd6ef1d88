package dev.loomwork.spring.app;

import dev.loomwork.spring.LoomworkQueues;
import dev.loomwork.spring.QueueHandler;

import dev.loomwork.Task;
import dev.loomwork.TaskCodec;
import dev.loomwork.TaskType;
import dev.loomwork.TestTimeouts;
import dev.loomwork.postgres.PostgresStore;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The Spring Boot application of the Spring tests (in a package of its own: its component scan must
 * not find the auto-configuration, which Spring Boot orders after the DataSource's): a memory queue {@code email} and a durable queue
 * {@code hooks}, their handlers as {@link QueueHandler} beans, and an endpoint that enqueues.
 * {@code SpringShutdownTest} runs it in a child JVM ({@link #main}).
 */
@SpringBootApplication
public class SpringTestApp {
  /** Payloads are plain strings, as JSON strings would be overkill here. */
  static final TaskCodec<String> TEXT =
      new TaskCodec<>() {
        @Override
        public String encode(String payload) {
          return "\"" + payload + "\"";
        }

        @Override
        public String decode(String json) {
          return json.substring(1, json.length() - 1);
        }
      };

  public static final TaskType<String> WELCOME = TaskType.of("email.welcome", TEXT);
  public static final TaskType<String> HOOK = TaskType.of("hook.deliver", TEXT);

  /** A long job on the memory queue {@code email}, for the shutdown test: "a600000" naps 600 s. */
  public static final TaskType<String> NAP = TaskType.of("email.nap", TEXT);

  /** What the handlers ran, in order: "email:ada", "hook:x". */
  public static final List<String> ran = new CopyOnWriteArrayList<>();

  private static final ReentrantLock lock = new ReentrantLock();
  private static final Condition added = lock.newCondition();

  private static void ran(String what) {
    ran.add(what);
    lock.lock();
    try {
      added.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Waits until a handler ran {@code what}; fails after {@code GENEROUS}. */
  public static void awaitRan(String what) throws InterruptedException {
    long nanos = TestTimeouts.GENEROUS.toNanos();
    lock.lock();
    try {
      while (!ran.contains(what)) {
        if (nanos <= 0) {
          throw new AssertionError(what + " did not run within " + TestTimeouts.GENEROUS + ": " + ran);
        }
        nanos = added.awaitNanos(nanos);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Stands in for a mail client. */
  public static final class Mailer {
    void send(String template, String to) {
      ran(template + ":" + to);
    }
  }

  @Bean
  Mailer mailer() {
    return new Mailer();
  }

  // README:spring-java
  @Bean
  QueueHandler<String> welcome(Mailer mailer) {
    return QueueHandler.of("email", WELCOME, (ctx, name) -> mailer.send("email", name));
  }

  @RestController
  static class Hooks {
    private final PostgresStore store;

    Hooks(PostgresStore store) { // the auto-configured store, on the application's DataSource
      this.store = store;
    }

    @PostMapping("/hooks")
    String enqueue(@RequestParam("what") String what) throws SQLException {
      return Long.toString(store.enqueue("hooks", Task.of(HOOK, what)));
    }
  }
  // README:end

  /** Enqueues a nap on the memory queue {@code email}, for the shutdown test. */
  @RestController
  static class Naps {
    private final LoomworkQueues queues;

    Naps(LoomworkQueues queues) {
      this.queues = queues;
    }

    @PostMapping("/naps")
    String enqueue(@RequestParam("what") String what) {
      queues.get("email").submit(NAP, what);
      return what;
    }
  }

  @Bean
  QueueHandler<String> nap() {
    return QueueHandler.of(
        "email",
        NAP,
        (ctx, what) -> {
          System.out.println("loomwork-test: nap " + what + " started");
          Thread.sleep(millis(what)); // until the shutdown cuts it
          System.out.println("loomwork-test: nap " + what + " ended");
        });
  }

  /** The milliseconds of a long job's name: "slow600000-a" and "a600000" are 600,000. */
  static long millis(String what) {
    return Long.parseLong(what.replaceAll("^[a-z]*([0-9]+).*$", "$1"));
  }

  @Bean
  QueueHandler<String> hook() {
    return QueueHandler.of(
        "hooks",
        HOOK,
        (ctx, what) -> {
          if (what.startsWith("slow")) {
            System.out.println("loomwork-test: hook " + what + " started");
            Thread.sleep(millis(what)); // a long job, for the drain
          }
          ran("hook:" + what);
          System.out.println("loomwork-test: hook " + what + " ended");
        });
  }

  /** Runs the application; prints its web server's port once it serves, for the shutdown test. */
  public static void main(String[] args) {
    ConfigurableApplicationContext context = SpringApplication.run(SpringTestApp.class, args);
    System.out.println("loomwork-test: port " + context.getEnvironment().getProperty("local.server.port"));
  }
}
