package dev.loomwork.console;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The headless Chromium of the browser tests: Debian's {@code chromium} and {@code chromedriver},
 * named explicitly so that Selenium Manager never looks for (or downloads) a browser or a driver.
 * Other paths can be given with {@code -Dloomwork.chromium=...} and {@code -Dloomwork.chromedriver=...}.
 * A missing browser fails the test, with the command that installs it: a browser test never skips.
 */
final class Browser {
  static final Path CHROMIUM = Path.of(System.getProperty("loomwork.chromium", "/usr/bin/chromium"));
  static final Path DRIVER = Path.of(System.getProperty("loomwork.chromedriver", "/usr/bin/chromedriver"));

  /** How long a wait for the page to show something lasts at most (a loaded machine is slow). */
  static final Duration WAIT = Duration.ofSeconds(30);

  private Browser() {}

  /** Starts a headless Chromium of 1280 × 900 pixels; the caller quits it. */
  static ChromeDriver start() {
    for (Path p : new Path[] {CHROMIUM, DRIVER}) {
      if (!Files.isExecutable(p)) {
        fail(p + " is missing: the console's browser tests drive Debian's Chromium and its driver. Install them"
            + " with: apt-get install chromium chromium-driver (as root; .ci/run does it on CI), or name other"
            + " executables with -Dloomwork.chromium=PATH -Dloomwork.chromedriver=PATH");
      }
    }
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1280,900", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--disable-background-networking", "--lang=en-US");
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(DRIVER.toFile())
        .usingAnyFreePort()
        .build();
    ChromeDriver driver = new ChromeDriver(service, options);
    driver.manage().timeouts().pageLoadTimeout(WAIT);
    return driver;
  }

  /**
   * A wait of at most {@link #WAIT}, checking every 50 ms; an element that a refresh of the page's
   * live part replaced while a condition read it counts as "not yet", not as a failure.
   */
  static WebDriverWait waitFor(ChromeDriver driver) {
    WebDriverWait wait = new WebDriverWait(driver, WAIT, Duration.ofMillis(50));
    wait.ignoring(StaleElementReferenceException.class);
    return wait;
  }
}
