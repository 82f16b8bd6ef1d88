package dev.loomwork.console;

import static dev.loomwork.console.ConsoleFixture.QUEUE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openqa.selenium.support.ui.ExpectedConditions.alertIsPresent;
import static org.openqa.selenium.support.ui.ExpectedConditions.attributeToBe;
import static org.openqa.selenium.support.ui.ExpectedConditions.presenceOfElementLocated;
import static org.openqa.selenium.support.ui.ExpectedConditions.textToBe;
import static org.openqa.selenium.support.ui.ExpectedConditions.textToBePresentInElementLocated;
import static org.openqa.selenium.support.ui.ExpectedConditions.urlContains;

import com.sun.net.httpserver.HttpServer;
import dev.loomwork.Task;
import dev.loomwork.TaskState;
import dev.loomwork.WorkQueue;
import dev.loomwork.admin.MemoryAdmin;
import dev.loomwork.postgres.PostgresExtension;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.Select;

/**
 * The console in a real headless Chromium (Debian's, through its chromedriver): an operator lists and
 * filters tasks, opens a failed one, retries it and sees it succeed, pauses and resumes a queue; a
 * payload that is markup shows as text and runs nothing; a form on another site cannot make the
 * console act. The browser is required: without it these tests fail, with the command that installs
 * it.
 *
 * <p>With {@code -Dloomwork.screenshots=docs/images} the tests also save the README's screenshots.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleBrowserTest {
  private final DataSource ds;
  private ChromeDriver driver;
  private ConsoleFixture fixture;
  private Console console;
  private WorkQueue thumbnails;
  private CountDownLatch thumbnailsHeld;

  ConsoleBrowserTest(DataSource ds) {
    this.ds = ds;
  }

  @BeforeAll
  void startBrowser() {
    driver = Browser.start();
  }

  @AfterAll
  void quitBrowser() {
    if (driver != null) {
      driver.quit();
    }
  }

  void startConsole(boolean writable) throws Exception {
    fixture = new ConsoleFixture(ds);
    thumbnailsHeld = new CountDownLatch(1);
    thumbnails = WorkQueue.builder("thumbnails").concurrency(1).build();
    thumbnails.start();
    thumbnails.enqueue(Task.of(ctx -> thumbnailsHeld.await()).named("thumbnail-1"));
    thumbnails.enqueue(Task.of(ctx -> {}).named("thumbnail-2"));
    Console.Builder b = Console.builder().admin(fixture.admin).admin(MemoryAdmin.of(thumbnails))
        .refresh(Duration.ofMillis(500));
    console = (writable ? b.authorizer(ConsoleAuthorizer.allowAll()) : b).build().start();
  }

  @AfterEach
  void stop() {
    if (console != null) {
      console.close();
    }
    if (thumbnailsHeld != null) {
      thumbnailsHeld.countDown();
    }
    if (thumbnails != null) {
      thumbnails.close();
    }
    if (fixture != null) {
      fixture.close();
    }
  }

  String url(String path) {
    return console.uri().resolve(path).toString();
  }

  /** Waits for the page's script to refresh its live part {@code n} more times. */
  void awaitRefreshes(int n) {
    String before = driver.findElement(By.tagName("body")).getAttribute("data-refreshes");
    int target = (before == null ? 0 : Integer.parseInt(before)) + n;
    Browser.waitFor(driver).until(d -> {
      String now = d.findElement(By.tagName("body")).getAttribute("data-refreshes");
      return now != null && Integer.parseInt(now) >= target;
    });
  }

  // The live part of a page is replaced at every refresh: every read and click finds its element
  // again, and tries again if a refresh replaced it in between.

  /** The text of the element {@code by} finds, read once the page shows it. */
  String text(By by) {
    return Browser.waitFor(driver).ignoring(StaleElementReferenceException.class)
        .until(d -> d.findElement(by).getText());
  }

  /** The texts of every element {@code by} finds, read from one version of the live part. */
  List<String> texts(By by) {
    return Browser.waitFor(driver).ignoring(StaleElementReferenceException.class)
        .until(d -> d.findElements(by).stream().map(WebElement::getText).toList());
  }

  /** An attribute of every element {@code by} finds. */
  List<String> attributes(By by, String name) {
    return Browser.waitFor(driver).ignoring(StaleElementReferenceException.class)
        .until(d -> d.findElements(by).stream().map(e -> e.getAttribute(name)).toList());
  }

  /** Clicks the element {@code by} finds. */
  void click(By by) {
    Browser.waitFor(driver).ignoring(StaleElementReferenceException.class).until(d -> {
      d.findElement(by).click();
      return true;
    });
  }

  void screenshot(String name) throws IOException {
    String dir = System.getProperty("loomwork.screenshots");
    if (dir != null) {
      Path file = Path.of(dir, name);
      Files.createDirectories(file.getParent());
      Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
    }
  }

  @Test
  void listsFiltersOpensAFailedTaskRetriesItAndSeesItSucceed() throws Exception {
    startConsole(true);
    for (int i = 1; i <= 3; i++) {
      fixture.awaitState(fixture.enqueue("user" + i + "@example.com", "welcome-" + i), TaskState.SUCCEEDED);
    }
    fixture.failure.set("550 mailbox unavailable");
    long failed = fixture.enqueue("bounce@example.com", "welcome-4");
    fixture.awaitState(failed, TaskState.FAILED);

    // The queues page: the durable queue and the one in memory, alike.
    driver.get(url("/"));
    Browser.waitFor(driver).until(textToBe(By.cssSelector("tr[data-queue='emails'] td:nth-child(8)"), "1"));
    assertEquals("durable", text(By.cssSelector("tr[data-queue='emails'] td:nth-child(2)")));
    assertEquals("memory", text(By.cssSelector("tr[data-queue='thumbnails'] td:nth-child(2)")));
    Browser.waitFor(driver).until(textToBe(By.cssSelector("tr[data-queue='thumbnails'] td:nth-child(6)"), "1"));
    screenshot("console-queues.png");

    // The task list, then filtered by state through the form (which the refresh leaves alone).
    click(By.linkText("Tasks"));
    Browser.waitFor(driver).until(d -> d.findElements(By.cssSelector("#tasks tbody tr[data-task]")).size() >= 4);
    new Select(driver.findElement(By.name("queue"))).selectByValue(QUEUE);
    new Select(driver.findElement(By.name("state"))).selectByValue("FAILED");
    click(By.id("apply-filters"));
    Browser.waitFor(driver).until(urlContains("state=FAILED"));
    assertEquals(List.of(String.valueOf(failed)), attributes(By.cssSelector("#tasks tbody tr[data-task]"), "data-task"),
        "one failed task");
    assertTrue(text(By.cssSelector("#tasks tbody tr[data-task]")).contains("550 mailbox unavailable"));
    screenshot("console-tasks.png");

    // The failed task: its attempt and error.
    click(By.cssSelector("#tasks a.task-link"));
    Browser.waitFor(driver).until(presenceOfElementLocated(By.id("attempts")));
    assertEquals("failed", text(By.id("task-state")));
    assertTrue(text(By.cssSelector("#attempts tbody tr")).contains("IllegalStateException: 550 mailbox unavailable"));
    assertEquals(List.of("failed"), texts(By.cssSelector("#attempts tbody tr .outcome")));
    screenshot("console-task.png");

    // Retry it, with the failure fixed: it runs again and succeeds; the page refreshes by itself.
    fixture.failure.set(null);
    click(By.cssSelector("button[data-action='retry']"));
    Browser.waitFor(driver).until(textToBePresentInElementLocated(By.id("notice"), "retried"));
    Browser.waitFor(driver).until(textToBe(By.id("task-state"), "succeeded"));
    assertEquals(List.of("failed", "succeeded"), texts(By.cssSelector("#attempts tbody tr .outcome")));
    assertEquals(TaskState.SUCCEEDED, fixture.admin.task(failed).orElseThrow().summary().state());
  }

  @Test
  void pausesAndResumesAQueue() throws Exception {
    startConsole(true);
    driver.get(url("/"));
    Browser.waitFor(driver).until(presenceOfElementLocated(By.cssSelector("tr[data-queue='emails']")));
    fixture.awaitState(fixture.enqueue("first@example.com", null), TaskState.SUCCEEDED);

    click(By.cssSelector("tr[data-queue='emails'] button[data-action='pause']"));
    Browser.waitFor(driver).until(textToBePresentInElementLocated(By.id("notice"), "paused"));
    assertEquals("paused", text(By.cssSelector("tr[data-queue='emails'] .status")));
    assertEquals(List.of(QUEUE), fixture.admin.pausedQueues());

    // While paused, a new task stays ready through several refreshes (workers claim within a second).
    long held = fixture.enqueue("held@example.com", null);
    Browser.waitFor(driver).until(textToBe(By.cssSelector("tr[data-queue='emails'] td:nth-child(4)"), "1"));
    awaitRefreshes(6);
    assertEquals(TaskState.READY, fixture.admin.task(held).orElseThrow().summary().state());
    screenshot("console-paused.png");

    click(By.cssSelector("tr[data-queue='emails'] button[data-action='resume']"));
    Browser.waitFor(driver).until(textToBePresentInElementLocated(By.id("notice"), "resumed"));
    fixture.awaitState(held, TaskState.SUCCEEDED);
    Browser.waitFor(driver).until(textToBe(By.cssSelector("tr[data-queue='emails'] td:nth-child(4)"), "0"));
    assertEquals("active", text(By.cssSelector("tr[data-queue='emails'] .status")));
    assertEquals(List.of(), fixture.admin.pausedQueues());
  }

  @Test
  void aPayloadOfMarkupShowsAsTextAndRunsNothing() throws Exception {
    startConsole(true);
    String xss = "<img src=x onerror=alert(1)>";
    fixture.failure.set("<img src=y onerror=alert(2)>");
    long id = fixture.enqueue(xss, "<script>alert(3)</script>");
    fixture.awaitState(id, TaskState.FAILED);

    driver.get(url("/tasks?queue=" + QUEUE));
    Browser.waitFor(driver).until(presenceOfElementLocated(By.cssSelector("tr[data-task='" + id + "']")));
    assertTrue(text(By.cssSelector("tr[data-task='" + id + "']")).contains("<script>alert(3)</script>"));
    driver.get(url("/task?src=0&queue=" + QUEUE + "&id=" + id));
    Browser.waitFor(driver).until(presenceOfElementLocated(By.id("payload")));
    assertEquals("\"" + xss + "\"", text(By.id("payload")));
    assertTrue(text(By.id("last-error")).contains("<img src=y onerror=alert(2)>"));
    awaitRefreshes(2); // the refreshed part is parsed by the page's script: still text
    assertEquals("\"" + xss + "\"", text(By.id("payload")));
    assertEquals(0L, driver.executeScript("return document.images.length"), "no <img> was made");
    assertEquals(0, driver.findElements(By.cssSelector("main script")).size());
    assertThrows(NoAlertPresentException.class, () -> driver.switchTo().alert(), "no alert ran");
  }

  @Test
  void aFormOnAnotherSiteCannotMakeTheConsoleAct() throws Exception {
    startConsole(true);
    // Another origin (another port) serves a page that posts to the console, with a guessed token.
    String target = url("/actions/pause");
    byte[] attack = ("<!doctype html><html><body><form id=\"attack\" method=\"post\" action=\"" + target + "\">"
        + "<input type=\"hidden\" name=\"src\" value=\"0\"><input type=\"hidden\" name=\"queue\" value=\"" + QUEUE + "\">"
        + "<input type=\"hidden\" name=\"csrf\" value=\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\">"
        + "<button type=\"submit\" id=\"go\">win a prize</button></form></body></html>").getBytes(StandardCharsets.UTF_8);
    HttpServer evil = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    evil.createContext("/", exchange -> {
      exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
      exchange.sendResponseHeaders(200, attack.length);
      try (var out = exchange.getResponseBody()) {
        out.write(attack);
      }
    });
    evil.start();
    try {
      driver.get("http://127.0.0.1:" + evil.getAddress().getPort() + "/");
      driver.findElement(By.id("go")).click();
      Browser.waitFor(driver).until(urlContains("/actions/pause"));
      Browser.waitFor(driver).until(d -> d.findElement(By.tagName("body")).getText().contains("refused"));
      assertEquals(List.of(), fixture.admin.pausedQueues(), "the queue was not paused");
    } finally {
      evil.stop(0);
    }
  }

  @Test
  void aConsoleWithoutAnAuthoriserShowsNoAction() throws Exception {
    startConsole(false);
    fixture.failure.set("refused");
    long id = fixture.enqueue("x@example.com", null);
    fixture.awaitState(id, TaskState.FAILED);
    for (String page : List.of("/", "/tasks", "/task?src=0&queue=" + QUEUE + "&id=" + id)) {
      driver.get(url(page));
      Browser.waitFor(driver).until(presenceOfElementLocated(By.id("live")));
      assertEquals("read-only", text(By.id("mode")));
      assertEquals(List.of(), driver.findElements(By.cssSelector("button[data-action]")), page);
    }
  }

  @Test
  void deleteAsksFirst() throws Exception {
    startConsole(true);
    fixture.failure.set("refused");
    long id = fixture.enqueue("y@example.com", null);
    fixture.awaitState(id, TaskState.FAILED);
    driver.get(url("/task?src=0&queue=" + QUEUE + "&id=" + id));
    Browser.waitFor(driver).until(presenceOfElementLocated(By.cssSelector("button[data-action='delete']")));
    click(By.cssSelector("button[data-action='delete']"));
    Browser.waitFor(driver).until(alertIsPresent()).dismiss();
    assertTrue(fixture.admin.task(id).isPresent(), "dismissed: not deleted");
    click(By.cssSelector("button[data-action='delete']"));
    Browser.waitFor(driver).until(alertIsPresent()).accept();
    Browser.waitFor(driver).until(textToBePresentInElementLocated(By.id("notice"), "deleted"));
    assertFalse(fixture.admin.task(id).isPresent());
    Browser.waitFor(driver).until(attributeToBe(By.cssSelector("header nav a.here"), "href", url("/tasks")));
  }
}
