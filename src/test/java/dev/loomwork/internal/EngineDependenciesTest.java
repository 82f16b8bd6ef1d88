package dev.loomwork.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The engine ({@code dev.loomwork.internal}) depends on the API ({@code dev.loomwork}) and on no
 * other package of this module: the store ({@code postgres}), the admin, the console, the Spring
 * auto-configuration and the Kotlin API all depend on the engine, so a reference back would make a
 * circle between packages. The store hands its I/O to the engine through {@link Access} instead.
 *
 * <p>The check reads the compiled classes: every name in a constant pool (classes, field and method
 * descriptors, generic signatures), so a fully qualified name in the code counts as an import does.
 */
class EngineDependenciesTest {
  /** The packages that depend on the engine, as class files name them. */
  private static final List<String> ABOVE = List.of(
      "dev/loomwork/postgres/", "dev/loomwork/admin/", "dev/loomwork/console/", "dev/loomwork/spring/",
      "dev/loomwork/kotlin/");

  @Test
  void theEngineNamesNoPackageThatDependsOnIt() throws Exception {
    Path engine = classes().resolve("dev/loomwork/internal");
    List<String> found = new ArrayList<>();
    int read = 0;
    try (Stream<Path> files = Files.list(engine)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".class")).sorted().toList()) {
        read++;
        for (String name : namesAbove(file)) {
          found.add(file.getFileName() + " names " + name);
        }
      }
    }
    assertTrue(read >= 50, "read the engine's classes in " + engine + ": " + read);
    assertEquals(List.of(), found, "the engine depends on a package that depends on it");
  }

  @Test
  void theCheckSeesAReferenceWhereThereIsOne() throws Exception {
    // WorkQueue.Builder.store(PostgresStore) names the store's package: the API may, the engine may not.
    List<String> names = namesAbove(classes().resolve("dev/loomwork/WorkQueue$Builder.class"));
    assertFalse(names.isEmpty(), "WorkQueue.Builder names PostgresStore");
    assertTrue(names.stream().anyMatch(n -> n.contains("dev/loomwork/postgres/PostgresStore")), names.toString());
  }

  /** The root of the main classes (the directory or jar that holds the engine). */
  private static Path classes() throws Exception {
    return Path.of(QueueEngine.class.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  /** The names in {@code file}'s constant pool that lie in one of {@link #ABOVE}. */
  private static List<String> namesAbove(Path file) throws IOException {
    List<String> names = new ArrayList<>();
    for (PoolEntry entry : ClassFile.of().parse(file).constantPool()) {
      if (entry instanceof Utf8Entry utf8) {
        String text = utf8.stringValue();
        if (ABOVE.stream().anyMatch(text::contains)) {
          names.add(text);
        }
      }
    }
    return names;
  }
}
