package dev.loomwork.demo;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writes a shutdown report file readable by its owner only: the report holds payloads (e-mail
 * addresses). The file is created with mode 0600 (a POSIX file attribute at creation, so it is never
 * readable by others, not even for the moment between a create and a chmod) as a temporary file
 * beside the target, written, and then moved over the target, which replaces a file that was there
 * with its own mode. On a file system without POSIX permissions the platform's defaults apply.
 */
final class ReportFile {

  /** What writes the report's text. */
  @FunctionalInterface
  interface Body {
    void write(Writer w) throws IOException;
  }

  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private ReportFile() {}

  /** Creates an empty owner-only file for a report, in the temporary directory. */
  static Path createTemp(String prefix) throws IOException {
    return Files.createTempFile(prefix, ".jsonl", ownerOnly());
  }

  /** Writes {@code body} to {@code target}, replacing it, readable by its owner only. */
  static void write(Path target, Body body) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Path temp = Files.createTempFile(dir, "." + target.getFileName() + "-", ".tmp", ownerOnly());
    try {
      try (Writer w = Files.newBufferedWriter(temp, StandardCharsets.UTF_8)) {
        body.write(w);
      }
      try {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  private static FileAttribute<?>[] ownerOnly() {
    return FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
        : new FileAttribute<?>[0];
  }
}
