package dev.loomwork;

import dev.loomwork.internal.Access;
import dev.loomwork.internal.JsonLines;
import dev.loomwork.internal.QueueEngine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** Reads a shutdown report's JSON Lines back into typed tasks; see {@link WorkQueue#requeue}. */
final class Requeue {
  private Requeue() {}

  /**
   * Checks the arguments of {@link WorkQueue#requeue(Reader, WorkQueue...)}, then re-queues each
   * typed line into the first of {@code queues} that has its handler.
   */
  static RequeueResult into(Reader report, WorkQueue[] queues) throws IOException {
    Objects.requireNonNull(report, "report");
    if (Join.requireEach(queues).length == 0) {
      throw new IllegalArgumentException("queues: none (expected: at least one)");
    }
    List<QueueEngine> engines = new ArrayList<>(queues.length);
    for (WorkQueue queue : queues) {
      engines.add(Access.engine(queue));
    }
    return read(engines, report);
  }

  private static RequeueResult read(List<QueueEngine> queues, Reader report) throws IOException {
    BufferedReader lines = report instanceof BufferedReader b ? b : new BufferedReader(report);
    int requeued = 0;
    int duplicates = 0;
    int closures = 0;
    List<String> skipped = new ArrayList<>();
    int number = 0;
    for (String line = lines.readLine(); line != null; line = lines.readLine()) {
      number++;
      if (line.isBlank()) {
        continue;
      }
      Map<String, @Nullable String> fields;
      try {
        fields = JsonLines.read(line);
      } catch (IllegalArgumentException e) {
        skipped.add("line " + number + ": " + e.getMessage());
        continue;
      }
      String handler = fields.get("handler");
      if (handler == null) {
        if (fields.containsKey("handler")) {
          closures++; // a closure: listed in the report, but it cannot be written down
        } else {
          skipped.add("line " + number + ": no \"handler\" field (not a loomwork report line?)");
        }
        continue;
      }
      String payload = fields.get("payload");
      String id = fields.get("id");
      if (payload == null || id == null) {
        skipped.add(
            "line " + number + ": a typed task without " + (payload == null ? "\"payload\"" : "\"id\""));
        continue;
      }
      QueueEngine engine = null;
      for (QueueEngine q : queues) {
        if (q.handles(handler)) {
          engine = q;
          break;
        }
      }
      if (engine == null) {
        skipped.add("line " + number + ": " + noHandler(queues, handler));
        continue;
      }
      Task<?> task = Task.restored(handler, payload, id);
      String name = fields.get("task");
      if (name != null && !name.isBlank()) {
        task.named(name);
      }
      if (engine.enqueueUnique(task.core())) {
        requeued++;
      } else {
        duplicates++;
      }
    }
    return new RequeueResult(requeued, duplicates, closures, skipped);
  }

  private static String noHandler(List<QueueEngine> queues, String handler) {
    if (queues.size() == 1) {
      return "queue '" + queues.getFirst().name() + "' has no handler for '" + handler + "'";
    }
    StringBuilder names = new StringBuilder();
    for (QueueEngine q : queues) {
      names.append(names.isEmpty() ? "" : ", ").append('\'').append(q.name()).append('\'');
    }
    return "none of the queues " + names + " has a handler for '" + handler + "'";
  }
}
