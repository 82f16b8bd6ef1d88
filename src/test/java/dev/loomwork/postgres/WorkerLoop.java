package dev.loomwork.postgres;

import dev.loomwork.WorkQueue;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What the worker mains of the process tests share: their standard output ({@link #OUT}), and their
 * life once their queue is built ({@link #serve}).
 */
final class WorkerLoop {
  /** The worker's standard output, in UTF-8, flushed at every line (the test reads it line by line). */
  static final PrintStream OUT =
      new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

  private WorkerLoop() {}

  /**
   * Starts {@code queue}, prints {@code ready}, then obeys the lines of standard input: {@code drain}
   * shuts the queue down, prints {@code drained} and its stats, and exits 0; a line of {@code
   * commands} runs its action; any other line is answered {@code unknown command}. If standard input
   * closes without a drain (the test died), the queue is shut down at once and the worker exits 3.
   */
  static void serve(WorkQueue queue, Map<String, Runnable> commands) throws IOException {
    queue.start();
    OUT.println("ready");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.equals("drain")) {
        queue.shutdown();
        OUT.println("drained " + queue.stats());
        System.exit(0);
      }
      Runnable command = commands.get(line);
      if (command != null) {
        command.run();
      } else {
        OUT.println("unknown command " + line);
      }
    }
    queue.shutdownNow();
    System.exit(3);
  }
}
