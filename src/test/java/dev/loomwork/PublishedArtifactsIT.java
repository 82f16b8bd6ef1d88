package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * What {@code install} and {@code deploy} publish, checked after {@code package} by maven-failsafe
 * (integration-test phase, so {@code ./mvnw verify} runs it): the jar with its manifest entries and
 * module descriptor, the sources and javadoc jars Maven Central requires, and the published
 * (flattened) pom, which must carry no test dependency, no build section and no unresolved version.
 * Each of the three jars carries the project's LICENSE file as {@code META-INF/LICENSE}.
 * The pom passes the paths as system properties; run alone, this test fails for want of them.
 */
class PublishedArtifactsIT {
  private static String property(String name) {
    String value = System.getProperty(name);
    assertNotNull(value, () -> "system property " + name + " (set by the pom's failsafe configuration)");
    return value;
  }

  private static Path artifact(String classifier) {
    Path path = Path.of(property("loomwork.artifactBase") + (classifier.isEmpty() ? "" : "-" + classifier) + ".jar");
    assertTrue(Files.isRegularFile(path), () -> path + " was not built");
    return path;
  }

  private static List<String> entries(Path jar) throws IOException {
    try (JarFile file = new JarFile(jar.toFile())) {
      return file.stream().map(e -> e.getName()).toList();
    }
  }

  @Test
  void theJarNamesItsVersionInTheManifestAndCarriesTheModuleDescriptor() throws IOException {
    Path jar = artifact("");
    try (JarFile file = new JarFile(jar.toFile())) {
      Attributes main = file.getManifest().getMainAttributes();
      assertEquals(property("loomwork.version"), main.getValue(Attributes.Name.IMPLEMENTATION_VERSION));
      assertEquals("loomwork", main.getValue(Attributes.Name.IMPLEMENTATION_TITLE));
      assertNotNull(file.getEntry("module-info.class"), "module-info.class");
      assertNotNull(file.getEntry("dev/loomwork/WorkQueue.class"));
    }
  }

  @Test
  void theSourcesJarHoldsTheJavaAndKotlinSources() throws IOException {
    List<String> names = entries(artifact("sources"));
    assertTrue(names.contains("module-info.java"), names::toString);
    assertTrue(names.contains("dev/loomwork/WorkQueue.java"), names::toString);
    assertTrue(names.stream().anyMatch(n -> n.startsWith("dev/loomwork/kotlin/") && n.endsWith(".kt")), names::toString);
  }

  @Test
  void theJavadocJarDocumentsThePublicPackagesOnly() throws IOException {
    List<String> names = entries(artifact("javadoc"));
    assertTrue(names.contains("index.html"), names::toString);
    assertTrue(names.contains("dev/loomwork/WorkQueue.html"), names::toString);
    assertTrue(names.contains("dev/loomwork/postgres/PostgresSchema.html"), names::toString);
    assertFalse(names.stream().anyMatch(n -> n.startsWith("dev/loomwork/internal/")), "the engine is not documented");
  }

  @Test
  void everyJarCarriesTheLicense() throws IOException {
    String license = Files.readString(Path.of("LICENSE"));
    for (String classifier : List.of("", "sources", "javadoc")) {
      Path jar = artifact(classifier);
      try (JarFile file = new JarFile(jar.toFile())) {
        var entry = file.getEntry("META-INF/LICENSE");
        assertNotNull(entry, () -> jar + " has no META-INF/LICENSE");
        try (var in = file.getInputStream(entry)) {
          assertEquals(license, new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), () -> jar + ": META-INF/LICENSE");
        }
      }
    }
  }

  @Test
  void thePublishedPomHasNoTestDependencyNoBuildAndResolvedVersions() throws Exception {
    Path pom = Path.of(property("loomwork.publishedPom"));
    assertTrue(Files.isRegularFile(pom), () -> pom + " was not written");
    String text = Files.readString(pom);
    assertFalse(text.contains("${"), () -> "an unresolved property in the published pom:\n" + text);
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setNamespaceAware(true);
    Document doc = factory.newDocumentBuilder().parse(pom.toFile());
    Element project = doc.getDocumentElement();
    assertEquals("project", project.getLocalName());
    for (String absent : List.of("build", "dependencyManagement", "profiles", "repositories", "pluginRepositories", "parent")) {
      assertTrue(children(project, absent).isEmpty(), () -> "<" + absent + "> in the published pom:\n" + text);
    }
    for (String present : List.of("groupId", "artifactId", "version", "name", "description", "licenses")) {
      assertEquals(1, children(project, present).size(), () -> "<" + present + "> in the published pom:\n" + text);
    }
    assertEquals(property("loomwork.version"), text(children(project, "version").getFirst()));

    List<Element> dependencies = new ArrayList<>();
    for (Element list : children(project, "dependencies")) {
      dependencies.addAll(children(list, "dependency"));
    }
    List<String> coordinates = new ArrayList<>();
    for (Element dependency : dependencies) {
      String ga = text(children(dependency, "groupId").getFirst()) + ":" + text(children(dependency, "artifactId").getFirst());
      coordinates.add(ga);
      List<Element> scope = children(dependency, "scope");
      String scopeName = scope.isEmpty() ? "compile" : text(scope.getFirst());
      assertTrue(List.of("compile", "runtime").contains(scopeName), () -> ga + " has scope " + scopeName);
      assertEquals(1, children(dependency, "version").size(), () -> ga + " has no version");
    }
    assertTrue(coordinates.contains("org.slf4j:slf4j-api"), coordinates::toString);
    assertTrue(coordinates.contains("io.micrometer:micrometer-core"), coordinates::toString);
    assertFalse(coordinates.contains("org.junit.jupiter:junit-jupiter"), coordinates::toString);
  }

  private static List<Element> children(Element parent, String localName) {
    List<Element> found = new ArrayList<>();
    NodeList nodes = parent.getChildNodes();
    for (int i = 0; i < nodes.getLength(); i++) {
      Node node = nodes.item(i);
      if (node instanceof Element e && localName.equals(e.getLocalName())) {
        found.add(e);
      }
    }
    return found;
  }

  private static String text(Element e) {
    return e.getTextContent().strip();
  }
}
