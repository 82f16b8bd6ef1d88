package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.internal.Runners;
import org.junit.jupiter.api.Test;

/**
 * The build runs the suite twice: with {@code --enable-preview} (the structured runner must be in
 * use) and without it (the virtual-thread fallback must be in use). The pom tells each run which one
 * to expect through {@code loomwork.expectedRunner}.
 */
class RunnerModeTest {
  private static String expectedRunner() {
    String expected = System.getProperty("loomwork.expectedRunner");
    assertNotNull(
        expected,
        "system property loomwork.expectedRunner is not set: run the tests through Maven (surefire sets"
            + " it to 'structured' or 'virtual')");
    assertTrue(
        expected.equals("structured") || expected.equals("virtual"),
        "loomwork.expectedRunner: '" + expected + "' (expected: structured or virtual)");
    return expected;
  }

  @Test
  void selectedRunnerMatchesTheSurefireExecution() {
    String expected = expectedRunner();
    assertEquals(
        expected,
        Runners.selected().name(),
        "runner selected on JDK " + Runtime.version());
  }

  @Test
  void queueToStringNamesTheRunner() throws Exception {
    String expected = expectedRunner();
    try (WorkQueue queue = WorkQueue.builder("runner-mode").build()) {
      assertTrue(
          queue.toString().contains("runner=" + expected),
          () -> "toString before start: " + queue);
      queue.start();
      Task<String> task = queue.enqueue(Task.ofJob(ctx -> "ran in " + ctx.queueName()));
      assertEquals("ran in runner-mode", task.await());
      assertTrue(
          queue.toString().contains("runner=" + expected),
          () -> "toString after a task ran: " + queue);
    }
  }
}
