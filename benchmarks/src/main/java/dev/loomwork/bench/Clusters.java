package dev.loomwork.bench;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/**
 * PostgreSQL data directories for {@link DurableServer}: {@code initdb} is most of an embedded
 * server's start, and every Durable* fork starts one, so one cluster is initialised per machine (a
 * template under {@code java.io.tmpdir}/loomwork-bench-pg, made once behind a file lock) and each
 * trial starts on a fresh copy of it ({@code cp -a}), deleted when the trial ends. The template is
 * an empty cluster, as {@code initdb} leaves it; loomwork's schema is migrated on each copy.
 */
final class Clusters {
  private Clusters() {}

  private static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "loomwork-bench-pg");

  /** Named after the binaries: another PostgreSQL version initialises another template. */
  private static final Path TEMPLATE = ROOT.resolve("template-pg14.22.0");

  private static final String COPY_PREFIX = "run-";

  /** A fresh copy of the template cluster, made first if this machine has none. */
  static Path copyOfTemplate() throws IOException {
    Files.createDirectories(ROOT);
    try (FileChannel lockFile =
            FileChannel.open(ROOT.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockFile.lock()) {
      deleteStaleCopies();
      if (!Files.exists(TEMPLATE.resolve(".complete"))) {
        makeTemplate();
      }
      Path copy = ROOT.resolve(COPY_PREFIX + ProcessHandle.current().pid() + "-" + System.nanoTime());
      run(List.of("cp", "-a", TEMPLATE.toString(), copy.toString()));
      Files.deleteIfExists(copy.resolve(".complete"));
      return copy;
    }
  }

  /** Deletes a copy when its trial ends. */
  static void delete(Path copy) {
    try {
      run(List.of("rm", "-rf", copy.toString()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void makeTemplate() throws IOException {
    run(List.of("rm", "-rf", TEMPLATE.toString()));
    Path log = ROOT.resolve("template.log");
    // initdb, a start and a clean stop: the directory keeps the cluster (no clean-up on close).
    EmbeddedPostgres pg =
        EmbeddedPostgres.builder()
            .setPGStartupWait(Duration.ofSeconds(60))
            .setDataDirectory(TEMPLATE)
            .setCleanDataDirectory(false)
            .setOutputRedirector(Redirect.appendTo(log.toFile()))
            .setErrorRedirector(Redirect.appendTo(log.toFile()))
            .start();
    pg.close();
    Files.deleteIfExists(TEMPLATE.resolve("epg-lock"));
    Files.createFile(TEMPLATE.resolve(".complete"));
  }

  /** Copies left by forks that died before their teardown. */
  private static void deleteStaleCopies() throws IOException {
    try (Stream<Path> dirs = Files.list(ROOT)) {
      for (Path d : dirs.toList()) {
        String name = d.getFileName().toString();
        if (!name.startsWith(COPY_PREFIX)) {
          continue;
        }
        String[] parts = name.substring(COPY_PREFIX.length()).split("-");
        try {
          if (ProcessHandle.of(Long.parseLong(parts[0])).isEmpty()) {
            run(List.of("rm", "-rf", d.toString()));
          }
        } catch (NumberFormatException ignored) {
          // not ours
        }
      }
    }
  }

  private static void run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes());
      if (p.waitFor() != 0) {
        throw new IOException(String.join(" ", command) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", command), e);
    }
  }
}
