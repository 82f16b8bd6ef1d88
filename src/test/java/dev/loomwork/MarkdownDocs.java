package dev.loomwork;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads the project's Markdown documentation (README.md and the pages of docs/) the way GitHub renders
 * it, as far as the checks of the docs need: fenced code blocks, headings and their anchors, and
 * links. {@link #brokenLinks} is the link check; {@code DocLinksTest} runs it on the real pages and
 * on pages made to fail.
 */
final class MarkdownDocs {
  private MarkdownDocs() {}

  /** A fenced code block: its language (the info string's first word, maybe empty), its first line (1-based), its text. */
  record Fence(String language, int line, String code, String lineBefore) {}

  /** A link or image as written: its target, and the line it starts on (1-based). */
  record Link(String target, int line) {}

  /** README.md and every {@code docs/*.md} under {@code root}, README first, then the pages by name. */
  static List<Path> pages(Path root) {
    List<Path> pages = new ArrayList<>();
    pages.add(root.resolve("README.md"));
    Path docs = root.resolve("docs");
    if (Files.isDirectory(docs)) {
      try (Stream<Path> files = Files.list(docs)) {
        files.filter(p -> p.getFileName().toString().endsWith(".md")).sorted().forEach(pages::add);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return pages;
  }

  private static final Pattern FENCE_OPEN = Pattern.compile("^ {0,3}(`{3,}|~{3,})\\s*([^`\\s]*).*$");

  /** The fenced code blocks of {@code markdown}, in order; an unclosed fence runs to the end, as GitHub renders it. */
  static List<Fence> fences(String markdown) {
    List<Fence> fences = new ArrayList<>();
    List<String> lines = markdown.lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      Matcher open = FENCE_OPEN.matcher(lines.get(i));
      if (!open.matches()) {
        continue;
      }
      String marker = open.group(1);
      int start = i;
      List<String> code = new ArrayList<>();
      i++;
      while (i < lines.size() && !closes(lines.get(i), marker)) {
        code.add(lines.get(i));
        i++;
      }
      fences.add(new Fence(open.group(2), start + 1, String.join("\n", code), start == 0 ? "" : lines.get(start - 1)));
    }
    return fences;
  }

  private static boolean closes(String line, String marker) {
    String s = line.strip();
    return line.length() - line.stripLeading().length() <= 3
        && s.length() >= marker.length()
        && s.chars().allMatch(c -> c == marker.charAt(0));
  }

  /**
   * {@code markdown} with the text of fenced code blocks and inline code spans blanked out (line
   * breaks kept, so line numbers stay), so that nothing in code is read as a heading or a link.
   */
  static String withoutCode(String markdown) {
    // Inline code: a run of backticks up to the next run of the same length, within one paragraph.
    String text = String.join("\n", withoutFences(markdown));
    Matcher span = Pattern.compile("(`+)((?:[^\\n]|\\n(?!\\s*\\n))+?)(?<!`)\\1(?!`)").matcher(text);
    StringBuilder out = new StringBuilder();
    while (span.find()) {
      String blank = span.group().replaceAll("[^\\n]", " ");
      span.appendReplacement(out, Matcher.quoteReplacement(blank));
    }
    span.appendTail(out);
    return out.toString();
  }

  private static final Pattern HEADING = Pattern.compile("^ {0,3}#{1,6}\\s+(.*?)(?:\\s+#+)?\\s*$");
  private static final Pattern EXPLICIT_ANCHOR = Pattern.compile("<a\\s+(?:id|name)=\"([^\"]+)\"");

  /**
   * The anchors a page offers: the GitHub slug of every heading outside code (a repeated slug gets
   * {@code -1}, {@code -2}, ...), and every {@code <a id="...">} or {@code <a name="...">}.
   */
  static Set<String> anchors(String markdown) {
    Set<String> anchors = new LinkedHashSet<>();
    Map<String, Integer> seen = new HashMap<>();
    List<String> lines = markdown.lines().toList();
    List<String> blanked = withoutFences(markdown);
    for (int i = 0; i < lines.size(); i++) {
      if (blanked.get(i).isEmpty() && !lines.get(i).isEmpty()) {
        continue; // inside a fenced block
      }
      Matcher heading = HEADING.matcher(lines.get(i));
      if (heading.matches()) {
        String slug = slug(heading.group(1));
        int n = seen.merge(slug, 1, Integer::sum) - 1;
        anchors.add(n == 0 ? slug : slug + "-" + n);
      }
      Matcher explicit = EXPLICIT_ANCHOR.matcher(blanked.get(i));
      while (explicit.find()) {
        anchors.add(explicit.group(1));
      }
    }
    return anchors;
  }

  private static List<String> withoutFences(String markdown) {
    List<String> lines = new ArrayList<>(markdown.lines().toList());
    for (int i = 0; i < lines.size(); i++) {
      Matcher open = FENCE_OPEN.matcher(lines.get(i));
      if (!open.matches()) {
        continue;
      }
      String marker = open.group(1);
      lines.set(i, "");
      for (i++; i < lines.size() && !closes(lines.get(i), marker); i++) {
        lines.set(i, "");
      }
      if (i < lines.size()) {
        lines.set(i, "");
      }
    }
    return lines;
  }

  /**
   * GitHub's anchor for a heading: the heading's text as rendered (images dropped, a link's text
   * kept, tags dropped), in lower case, with every character but letters, marks, digits, {@code _},
   * {@code -} and spaces dropped, and each space made a {@code -}.
   */
  static String slug(String heading) {
    String text = heading
        .replaceAll("!\\[[^\\]]*\\]\\([^)]*\\)", "")
        .replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1")
        .replaceAll("<[^>]+>", "");
    return text.toLowerCase(Locale.ROOT)
        .replaceAll("[^\\p{L}\\p{M}\\p{N}\\p{Pc} -]", "")
        .replace(' ', '-');
  }

  private static final Pattern INLINE_LINK =
      Pattern.compile("\\[(?:[^\\[\\]]|\\[[^\\[\\]]*\\])*\\]\\(\\s*<?([^)\\s>]+)>?(?:\\s+\"[^\"]*\")?\\s*\\)");
  private static final Pattern REFERENCE = Pattern.compile("(?m)^ {0,3}\\[[^\\]]+\\]:\\s*<?([^\\s>]+)>?");
  private static final Pattern HTML_LINK = Pattern.compile("(?:href|src)=\"([^\"]+)\"");

  /** The links and images of {@code markdown} outside code: inline, reference definitions, and HTML {@code href}/{@code src}. */
  static List<Link> links(String markdown) {
    String text = withoutCode(markdown);
    List<Link> links = new ArrayList<>();
    for (Pattern p : List.of(INLINE_LINK, REFERENCE, HTML_LINK)) {
      Matcher m = p.matcher(text);
      while (m.find()) {
        int line = (int) text.substring(0, m.start(1)).chars().filter(c -> c == '\n').count() + 1;
        links.add(new Link(m.group(1), line));
      }
    }
    return links;
  }

  private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");
  private static final Pattern LINE_ANCHOR = Pattern.compile("L\\d+(-L\\d+)?");

  /**
   * Every relative link and image of {@code pages} (files under {@code root}) that does not
   * resolve, as "page:line: target: why". A link resolves when its file (or directory) exists in the
   * repository under {@code root}, and its anchor, if any, is an anchor of the target page (a line
   * anchor {@code #L12} for a file that is not Markdown). Links with a scheme ({@code https:},
   * {@code mailto:}) and protocol-relative ones are not checked. A target starting with {@code /} is
   * relative to {@code root}, as on GitHub.
   */
  static List<String> brokenLinks(Path root, List<Path> pages) throws IOException {
    Path top = root.toAbsolutePath().normalize();
    Map<Path, Set<String>> anchorsByPage = new HashMap<>();
    List<String> problems = new ArrayList<>();
    for (Path page : pages) {
      Path file = page.toAbsolutePath().normalize();
      String where = top.relativize(file).toString();
      for (Link link : links(Files.readString(file))) {
        String target = link.target();
        if (SCHEME.matcher(target).find() || target.startsWith("//")) {
          continue;
        }
        int hash = target.indexOf('#');
        String pathPart = hash < 0 ? target : target.substring(0, hash);
        String anchor = hash < 0 ? null : URLDecoder.decode(target.substring(hash + 1), StandardCharsets.UTF_8);
        String prefix = where + ":" + link.line() + ": " + target + ": ";
        Path resolved;
        if (pathPart.isEmpty()) {
          resolved = file;
        } else {
          String decoded = URLDecoder.decode(pathPart.replace("+", "%2B"), StandardCharsets.UTF_8);
          resolved = (decoded.startsWith("/") ? top.resolve(decoded.substring(1)) : file.getParent().resolve(decoded)).normalize();
        }
        if (!resolved.startsWith(top)) {
          problems.add(prefix + "points outside the repository");
          continue;
        }
        if (!Files.exists(resolved)) {
          problems.add(prefix + "no such file " + top.relativize(resolved));
          continue;
        }
        if (anchor == null) {
          continue;
        }
        if (!resolved.getFileName().toString().endsWith(".md")) {
          if (!LINE_ANCHOR.matcher(anchor).matches()) {
            problems.add(prefix + "an anchor into a file that is not Markdown");
          }
          continue;
        }
        Set<String> anchors = anchorsByPage.computeIfAbsent(resolved, p -> {
          try {
            return anchors(Files.readString(p));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
        if (!anchors.contains(anchor)) {
          problems.add(prefix + "no heading with the anchor #" + anchor + " in " + top.relativize(resolved)
              + " (its anchors: " + String.join(", ", anchors) + ")");
        }
      }
    }
    return problems;
  }
}
