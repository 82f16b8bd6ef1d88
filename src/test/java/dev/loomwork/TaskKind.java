package dev.loomwork;

import static dev.loomwork.TestTimeouts.GENEROUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * The two kinds of task, so that a test of the queue's semantics runs once per kind ({@link
 * SemanticsTest} is a {@code @ParameterizedClass} over this enum).
 *
 * <p>A {@link #CLOSURE} is the test's body itself: {@link Task#of(Work)}, {@link Task#ofJob(Job)},
 * {@link WorkQueue#submit(Work)}. A {@link #TYPED} task runs the same body through the typed path: a
 * {@code TaskType<String>} whose payload is a key into the test's registry of bodies. The payload is
 * encoded (as JSON, by Jackson) when the task is enqueued and decoded at each attempt by the handler
 * that every queue built with {@link Tasks#builder} registers, which looks the body up and runs it.
 */
enum TaskKind {
  CLOSURE,
  TYPED;

  /** A maker of tasks of this kind, for one test. */
  Tasks tasks() {
    return new Tasks(this);
  }

  /**
   * Makes the tasks and queues of one test. Every queue gets the same handler whatever the kind, so
   * that both kinds run on the same queue.
   */
  static final class Tasks {
    /** The handler name of the bodies' task type. */
    static final String HANDLER = "semantics.body";

    private final TaskKind kind;
    private final AtomicInteger lastKey = new AtomicInteger();
    /** The bodies of this test's typed tasks, by payload. */
    private final Map<String, Work> bodies = new ConcurrentHashMap<>();
    /** The payload of each typed task made. */
    private final Map<Task<?>, String> keys = new ConcurrentHashMap<>();
    /** What each typed job's body returned on the attempt that succeeded, by payload. */
    private final Map<String, Returned> returned = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> encodes = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> decodes = new ConcurrentHashMap<>();
    private final TaskType<String> type = TaskType.of(HANDLER, new CountingCodec());

    private record Returned(@Nullable Object value) {}

    private Tasks(TaskKind kind) {
      this.kind = kind;
    }

    /** A queue builder with the bodies' handler registered. */
    WorkQueue.Builder builder(String name) {
      return WorkQueue.builder(name).handle(type, this::run);
    }

    /** A task whose body returns nothing: {@link Task#of(Work)}, or a typed task running it. */
    Task<@Nullable Void> of(Work body) {
      return switch (kind) {
        case CLOSURE -> Task.of(body);
        case TYPED -> typed(register(body));
      };
    }

    /**
     * A task whose body returns a result: {@link Task#ofJob(Job)}, or a typed task running it. A
     * typed task has no result (it is a {@code Task<Void>}), so the test keeps what its body
     * returned; {@link #awaitResult} reads it.
     */
    <T extends @Nullable Object> Task<?> ofJob(Job<T> body) {
      return switch (kind) {
        case CLOSURE -> Task.ofJob(body);
        case TYPED -> typed(registerJob(body));
      };
    }

    /** {@link WorkQueue#submit(Work)}, or {@link WorkQueue#submit(TaskType, Object)} of the body. */
    Task<@Nullable Void> submit(WorkQueue queue, Work body) {
      return switch (kind) {
        case CLOSURE -> queue.submit(body);
        case TYPED -> submitted(queue, register(body));
      };
    }

    /** {@link WorkQueue#submitJob(Job)}, or {@link WorkQueue#submit(TaskType, Object)} of the body. */
    <T extends @Nullable Object> Task<?> submitJob(WorkQueue queue, Job<T> body) {
      return switch (kind) {
        case CLOSURE -> queue.submitJob(body);
        case TYPED -> submitted(queue, registerJob(body));
      };
    }

    /**
     * Awaits a task made by {@link #ofJob} or {@link #submitJob} and returns what its body returned.
     * For a closure that is what {@code await()} returned; a typed task's {@code await()} must return
     * null, and the value is the one its body returned on the attempt that succeeded.
     */
    @SuppressWarnings("unchecked")
    <T extends @Nullable Object> T awaitResult(Task<?> task) throws Exception {
      Object awaited = task.await(GENEROUS);
      return switch (kind) {
        case CLOSURE -> (T) awaited;
        case TYPED -> {
          assertNull(awaited, "a typed task has no result");
          Returned r = returned.get(keyOf(task));
          assertNotNull(r, () -> task + " succeeded, but its body returned nothing");
          yield (T) r.value();
        }
      };
    }

    /**
     * What {@code await()} and the future give for a task whose body returned {@code bodyResult}:
     * that value for a closure, null for a typed task.
     */
    @Nullable Object taskResult(Object bodyResult) {
      return kind == CLOSURE ? bodyResult : null;
    }

    /**
     * For a typed task, checks that its payload went through the codec: encoded once, when it was
     * enqueued, and decoded once per attempt. Call it only where every attempt started ran its body.
     * A closure has nothing to check.
     */
    void assertEncodedOnceAndDecodedPerAttempt(Task<?> task) {
      if (kind == CLOSURE) {
        return;
      }
      String key = keyOf(task);
      assertEquals(1, count(encodes, key), () -> task + ": encodings of its payload");
      assertEquals(task.attempts(), count(decodes, key), () -> task + ": decodings of its payload");
    }

    // ---- the typed path ----

    private void run(TaskContext context, String key) throws Exception {
      Work body = bodies.get(key);
      if (body == null) {
        throw new NonRetryableException("no body registered under '" + key + "'");
      }
      body.run(context);
    }

    private String nextKey() {
      return "body-" + lastKey.incrementAndGet();
    }

    private String register(Work body) {
      String key = nextKey();
      bodies.put(key, body);
      return key;
    }

    private <T extends @Nullable Object> String registerJob(Job<T> body) {
      String key = nextKey();
      bodies.put(key, ctx -> returned.put(key, new Returned(body.call(ctx))));
      return key;
    }

    private Task<@Nullable Void> typed(String key) {
      Task<@Nullable Void> task = Task.of(type, key);
      keys.put(task, key);
      return task;
    }

    private Task<@Nullable Void> submitted(WorkQueue queue, String key) {
      Task<@Nullable Void> task = queue.submit(type, key);
      keys.put(task, key);
      return task;
    }

    private String keyOf(Task<?> task) {
      String key = keys.get(task);
      assertNotNull(key, () -> task + " is not a typed task of this test");
      return key;
    }

    private static int count(Map<String, AtomicInteger> counts, String key) {
      AtomicInteger n = counts.get(key);
      return n == null ? 0 : n.get();
    }

    /** JSON by Jackson, counting what it encodes and decodes. */
    private final class CountingCodec implements TaskCodec<String> {
      private final JacksonCodec<String> json = new JacksonCodec<>(String.class);

      @Override
      public String encode(String key) {
        encodes.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        return json.encode(key);
      }

      @Override
      public String decode(String text) {
        String key = json.decode(text);
        decodes.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        return key;
      }
    }
  }
}
