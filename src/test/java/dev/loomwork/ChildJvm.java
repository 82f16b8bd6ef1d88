package dev.loomwork;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a child JVM that runs a test's {@code main} in this JVM's runner mode: this
 * JVM's {@code java}, {@code --enable-preview} when this JVM runs the structured runner, the given
 * JVM options, this JVM's class path, the main class and its arguments. The process tests start their
 * workers, demos and probes with it, so that each runs in both surefire executions as its parent does.
 */
public final class ChildJvm {
  private ChildJvm() {}

  /**
   * Whether a child must run the structured runner: this JVM was started with {@code
   * --enable-preview}, or surefire's execution expects the structured runner.
   */
  public static boolean preview() {
    List<String> jvmArgs = ProcessHandle.current().info().arguments().map(List::of).orElse(List.of());
    return jvmArgs.contains("--enable-preview") || "structured".equals(System.getProperty("loomwork.expectedRunner"));
  }

  /** The command that runs {@code main} with {@code args} in a child JVM; see the class comment. */
  public static List<String> command(List<String> jvmOptions, Class<?> main, String... args) {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElseThrow());
    if (preview()) {
      command.add("--enable-preview");
    }
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
    command.addAll(List.of(args));
    return command;
  }

  /** Starts {@link #command}, its standard error merged into its standard output. */
  public static Process start(List<String> jvmOptions, Class<?> main, String... args) throws IOException {
    return new ProcessBuilder(command(jvmOptions, main, args)).redirectErrorStream(true).start();
  }
}
