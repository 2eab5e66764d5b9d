/**
 * `include` / `exclude` patterns of a catalog file's hub entry, matched exactly as huggingface_hub
 * matches `allow_patterns` / `ignore_patterns` (utils/_paths.py filter_repo_objects): Python's
 * fnmatch, where `*` also matches `/` (`*.json` matches `1_Pooling/config.json`), and a pattern
 * ending in `/` means everything below that folder. Users copy these patterns from their
 * `snapshot_download` calls, so a glob library with other semantics would select other files.
 */

/** Python's fnmatch.translate: `*` → any run, `?` → one character, `[seq]` / `[!seq]` → a set. */
function translate(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") {
      out += ".*";
    } else if (c === "?") {
      out += ".";
    } else if (c === "[") {
      let j = i + 1;
      if (pattern[j] === "!") j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") j++;
      if (j >= pattern.length) {
        out += "\\[";
      } else {
        let set = pattern.slice(i + 1, j).replace(/\\/g, "\\\\");
        if (set.startsWith("!")) set = `^${set.slice(1)}`;
        else if (set.startsWith("^")) set = `\\${set}`;
        out += `[${set}]`;
        i = j;
      }
    } else {
      out += c.replace(/[.+^${}()|\\/\]]/g, "\\$&");
    }
  }
  return new RegExp(`^${out}$`, "s");
}

function normalize(pattern: string): string {
  return pattern.endsWith("/") ? `${pattern}*` : pattern;
}

export function matchesPattern(path: string, pattern: string): boolean {
  return translate(normalize(pattern)).test(path);
}

/** The paths that match an include pattern (all, when there is none) and no exclude pattern. */
export function filterPaths(paths: readonly string[], include: readonly string[] | undefined, exclude: readonly string[] = []): string[] {
  return paths.filter(
    (p) => (include === undefined || include.some((pattern) => matchesPattern(p, pattern))) && !exclude.some((x) => matchesPattern(p, x)),
  );
}
