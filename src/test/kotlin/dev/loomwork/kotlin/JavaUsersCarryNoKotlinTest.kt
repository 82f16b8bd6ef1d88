package dev.loomwork.kotlin

import dev.loomwork.TestTimeouts
import dev.loomwork.WorkQueue
import java.io.File
import java.io.StringWriter
import java.lang.classfile.ClassFile
import java.lang.classfile.constantpool.Utf8Entry
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import java.util.spi.ToolProvider
import kotlin.io.path.extension
import kotlin.io.path.invariantSeparatorsPathString
import kotlin.io.path.readBytes
import kotlin.io.path.relativeTo
import kotlin.io.path.writeText
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The Kotlin API ships in loomwork's jar, but Java users carry nothing new: kotlin-stdlib and
 * kotlinx-coroutines-core are optional dependencies (`requires static`), and no Java class of
 * loomwork refers to a Kotlin class, so a Java application never loads one. The same holds for
 * Micrometer (metrics and tracing), Spring (the auto-configuration) and the PostgreSQL driver: a
 * Java application on the module path without them runs a queue.
 */
class JavaUsersCarryNoKotlinTest {
  /** target/classes: the compiled module, module-info.class included. */
  private val classes: Path = Path.of(WorkQueue::class.java.protectionDomain.codeSource.location.toURI())

  @Test
  fun noJavaClassOfLoomworkRefersToKotlin() {
    val javaClasses =
        Files.walk(classes).use { files ->
          files
              .filter { it.extension == "class" }
              .filter { !it.relativeTo(classes).invariantSeparatorsPathString.startsWith("dev/loomwork/kotlin/") }
              .toList()
        }
    assertTrue(javaClasses.size > 30, "found the Java classes in $classes: ${javaClasses.size}")
    val offenders =
        javaClasses.flatMap { file ->
          ClassFile.of()
              .parse(file.readBytes())
              .constantPool()
              .filterIsInstance<Utf8Entry>()
              .map { it.stringValue() }
              .filter { KOTLIN_REFERENCE.containsMatchIn(it) }
              .map { "${classes.relativize(file)}: $it" }
        }
    assertEquals(emptyList<String>(), offenders, "Java classes that refer to Kotlin classes")
  }

  @Test
  fun aJavaApplicationRunsOnTheModulePathWithoutKotlinMicrometerSpringOrTheDriver(@TempDir dir: Path) {
    val modulePath =
        (listOf(classes) + DEPENDENCIES.mapNotNull(::jarOf)).joinToString(File.pathSeparator) { it.toString() }
    for (absent in listOf("kotlin", "micrometer", "spring", "postgresql")) {
      assertTrue(modulePath.split(File.pathSeparator).none { absent in Path.of(it).fileName.toString() }, modulePath)
    }

    val sources = dir.resolve("src")
    Files.createDirectories(sources.resolve("smoke"))
    sources.resolve("module-info.java").writeText("module smoke { requires dev.loomwork; }\n")
    sources.resolve("smoke/Main.java").writeText(CONSUMER)
    val out = dir.resolve("out")
    val javacOutput = StringWriter()
    val javac = ToolProvider.findFirst("javac").orElseThrow()
    val status =
        javac.run(
            java.io.PrintWriter(javacOutput),
            java.io.PrintWriter(javacOutput),
            "--module-path", modulePath,
            "-d", out.toString(),
            sources.resolve("module-info.java").toString(),
            sources.resolve("smoke/Main.java").toString())
    assertEquals(0, status, "javac: $javacOutput")

    val structured = System.getProperty("loomwork.expectedRunner") == "structured"
    val java = Path.of(System.getProperty("java.home"), "bin", "java").toString()
    val command =
        listOfNotNull(
            java,
            "--enable-preview".takeIf { structured },
            "--module-path", out.toString() + File.pathSeparator + modulePath,
            "--module", "smoke/smoke.Main")
    val process = ProcessBuilder(command).redirectErrorStream(true).start()
    val output = process.inputStream.bufferedReader().readText()
    assertTrue(process.waitFor(TestTimeouts.GENEROUS_SECONDS, TimeUnit.SECONDS), "the consumer ended")
    assertEquals(0, process.exitValue(), "the consumer's exit status; its output:\n$output")
    assertTrue("ran task-1 in module dev.loomwork" in output, output)
    assertTrue("kotlin.stdlib resolved: false" in output, output)
    assertTrue("micrometer.core resolved: false" in output, output)
    assertTrue("micrometer.observation resolved: false" in output, output)
    assertTrue("spring.context resolved: false" in output, output)
    assertTrue("org.postgresql.jdbc resolved: false" in output, output)
    assertTrue("runner=${if (structured) "structured" else "virtual"}" in output, output)
  }

  private fun jarOf(className: String): Path? =
      try {
        Path.of(Class.forName(className).protectionDomain.codeSource.location.toURI())
      } catch (e: ClassNotFoundException) {
        null
      }

  private companion object {
    /** A class name or descriptor in package kotlin or kotlinx (or below). */
    val KOTLIN_REFERENCE = Regex("""(^|L|\[)kotlinx?/""")

    /** A class of each jar loomwork needs at run time, besides itself. */
    val DEPENDENCIES =
        listOf(
            "org.slf4j.Logger",
            "org.jspecify.annotations.NullMarked",
        )

    /** A Java application of loomwork, as small as it gets. */
    val CONSUMER =
        """
        package smoke;

        import dev.loomwork.Task;
        import dev.loomwork.WorkQueue;

        public final class Main {
          public static void main(String[] args) throws Exception {
            System.out.println("kotlin.stdlib resolved: " + ModuleLayer.boot().findModule("kotlin.stdlib").isPresent());
            for (String m : new String[] {"micrometer.core", "micrometer.observation", "spring.context", "org.postgresql.jdbc"}) {
              System.out.println(m + " resolved: " + ModuleLayer.boot().findModule(m).isPresent());
            }
            try {
              Class.forName("kotlin.Unit");
              throw new AssertionError("kotlin.Unit can be loaded");
            } catch (ClassNotFoundException expected) {
              // no Kotlin anywhere
            }
            try (WorkQueue queue = WorkQueue.builder("smoke").build()) {
              queue.start();
              Task<String> task = queue.enqueue(Task.ofJob(ctx ->
                  "ran " + ctx.taskName() + " in module " + WorkQueue.class.getModule().getName()));
              System.out.println(task.await());
              System.out.println(queue);
            }
          }
        }
        """
            .trimIndent()
  }
}
