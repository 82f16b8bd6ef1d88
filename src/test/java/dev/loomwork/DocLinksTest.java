package dev.loomwork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README and the guide in docs/ hold no relative link or anchor that does not resolve; and the
 * check itself fails on a bad one (the tests on pages written to a temporary directory).
 */
class DocLinksTest {
  private static final Path ROOT = Path.of("");

  @Test
  void everyRelativeLinkAndAnchorOfTheDocsResolves() throws IOException {
    List<Path> pages = MarkdownDocs.pages(ROOT);
    assertTrue(pages.size() >= 10, () -> "README.md and the guide's pages: " + pages);
    assertEquals(List.of(), MarkdownDocs.brokenLinks(ROOT, pages), "links of README.md and docs/*.md that do not resolve");
  }

  @Test
  void theDocsLinkEveryPageOfTheGuide() throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    List<String> unlisted = new ArrayList<>();
    for (Path page : MarkdownDocs.pages(ROOT)) {
      String name = page.getFileName().toString();
      if (page.getParent() == null || !page.getParent().endsWith("docs")) {
        continue;
      }
      if (!readme.contains("](docs/" + name + ")")) {
        unlisted.add(name);
      }
    }
    assertEquals(List.of(), unlisted, "pages of docs/ missing from the README's table of contents");
  }

  @Test
  void noFilePointsIntoSharedNotesOutsideTheRepository() throws IOException {
    // The repository stands on its own: nothing in it refers to the notes kept beside it.
    List<String> needles = List.of(".." + "/shared/", "/work" + "/shared");
    List<String> found = new ArrayList<>();
    try (Stream<Path> files = Files.walk(Path.of("."))) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        String path = file.toString();
        if (path.startsWith("./target/") || path.startsWith("./.git/") || path.contains("/target/")
            || !path.matches(".*\\.(md|java|kt|kts|xml|sh|py|properties|sql|txt|yml|yaml)$|\\./\\.ci/.*")) {
          continue;
        }
        String text = Files.readString(file);
        for (String needle : needles) {
          if (text.contains(needle)) {
            found.add(path + " mentions " + needle);
          }
        }
      }
    }
    assertEquals(List.of(), found);
  }

  // The checker on pages made for it.

  @Test
  void aLinkToAMissingFileFails(@TempDir Path dir) throws IOException {
    Path page = write(dir, "README.md", "# Title\n\nSee [the guide](docs/missing.md) and [ok](docs/guide.md).\n");
    write(dir, "docs/guide.md", "# Guide\n");
    assertEquals(
        List.of("README.md:3: docs/missing.md: no such file docs/missing.md"),
        MarkdownDocs.brokenLinks(dir, List.of(page)));
  }

  @Test
  void anAnchorWithNoHeadingFails(@TempDir Path dir) throws IOException {
    Path page = write(dir, "README.md", "# Title\n\n## Set-up\n\n[here](#set-up), [there](#setup), "
        + "[a page](docs/guide.md#running-it), [a page's gone heading](docs/guide.md#stopping-it)\n");
    write(dir, "docs/guide.md", "# Guide\n\n## Running it\n");
    List<String> problems = MarkdownDocs.brokenLinks(dir, List.of(page));
    assertEquals(2, problems.size(), problems::toString);
    assertTrue(problems.get(0).startsWith("README.md:5: #setup: no heading with the anchor #setup in README.md"), problems::toString);
    assertTrue(problems.get(1).startsWith("README.md:5: docs/guide.md#stopping-it: no heading with the anchor #stopping-it in docs/guide.md"),
        problems::toString);
  }

  @Test
  void aLinkOutOfTheRepositoryFails(@TempDir Path dir) throws IOException {
    Path repo = dir.resolve("repo");
    write(dir, "shared/notes.md", "# Notes\n");
    String outside = ".." + "/shared/notes.md"; // split, so that the scan above does not find it here
    Path page = write(repo, "README.md", "[notes](" + outside + ")\n");
    assertEquals(
        List.of("README.md:1: " + outside + ": points outside the repository"),
        MarkdownDocs.brokenLinks(repo, List.of(page)));
  }

  @Test
  void imagesReferenceLinksAndHtmlAreChecked(@TempDir Path dir) throws IOException {
    Path page = write(dir, "docs/page.md", "![chart](../results/chart.png)\n\n[ref]: ../missing.md\n\n<img src=\"gone.png\">\n");
    Files.createDirectories(dir.resolve("results"));
    List<String> problems = MarkdownDocs.brokenLinks(dir, List.of(page));
    assertEquals(3, problems.size(), problems::toString);
  }

  @Test
  void linksInCodeAndAbsoluteLinksAreNotChecked(@TempDir Path dir) throws IOException {
    Path page = write(dir, "README.md", "# T\n\n`[x](missing.md)` and [web](https://example.com/x.md#y)\n\n"
        + "```md\n[y](missing.md)\n## Not a heading\n```\n\n[mail](mailto:ada@example.com)\n");
    assertEquals(List.of(), MarkdownDocs.brokenLinks(dir, List.of(page)));
    assertEquals(Set.of("t"), MarkdownDocs.anchors(Files.readString(page)), "a line in a fence is no heading");
  }

  @Test
  void anchorsFollowGitHubsSlugs() {
    assertEquals("hand-over-without-dropped-requests-so_reuseport",
        MarkdownDocs.slug("Hand-over without dropped requests (`SO_REUSEPORT`)"));
    assertEquals("typed-tasks-work-that-can-be-written-down", MarkdownDocs.slug("Typed tasks: work that can be written down"));
    assertEquals("public-api-package-devloomwork", MarkdownDocs.slug("Public API (package `dev.loomwork`)"));
    assertEquals("enqueue--start-p50", MarkdownDocs.slug("Enqueue → start, p50"));
    assertEquals("the-guide", MarkdownDocs.slug("The [guide](x.md)"));
    assertEquals("tests-with-runtest", MarkdownDocs.slug("Tests with `runTest`"));
    assertEquals(
        List.of("faq", "faq-1", "faq-2", "explicit"),
        List.copyOf(MarkdownDocs.anchors("# FAQ\n\n## FAQ\n\n### FAQ\n\n<a id=\"explicit\"></a>\n")));
  }

  private static Path write(Path dir, String name, String text) throws IOException {
    Path file = dir.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
    return file;
  }
}
