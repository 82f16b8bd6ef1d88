package dev.loomwork.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 20, point 10: the demo's shutdown report files are readable by their owner only. */
class ReportFileTest {

  @Test
  void aNewReportFileIsCreatedOwnerOnly(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("report.jsonl");
    ReportFile.write(file, w -> w.write("{\"payload\":\"a@example.com\"}\n"));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("{\"payload\":\"a@example.com\"}\n", Files.readString(file));
  }

  @Test
  void aWorldReadableFileInTheWayIsReplacedByAnOwnerOnlyOne(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("report.jsonl");
    Files.writeString(file, "old");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));
    ReportFile.write(file, w -> w.write("new"));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("new", Files.readString(file));
  }

  @Test
  void theDefaultReportFileIsCreatedOwnerOnly() throws Exception {
    Path file = ReportFile.createTemp("loomwork-test-report-");
    try {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    } finally {
      Files.delete(file);
    }
  }
}
