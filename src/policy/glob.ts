// Word-level building blocks of command patterns (SPEC §5.4): shell-style
// globs (`*`, `?`, `[…]`, `[!…]`, `\x` escapes) compiled once into a matcher,
// and lexical path normalization applied to patterns and arguments alike.
// `*` and `?` also match `/`: a pattern word is matched against a whole word,
// not walked over the file system.

export interface WordMatcher {
  /** The glob as written (escapes kept), for explanations and lint. */
  readonly text: string;
  /** Exactly an unescaped `*`: the only pattern word a dynamic word satisfies. */
  readonly star: boolean;
  /** The unescaped text when the glob has no wildcard. */
  readonly literal: string | undefined;
  test(word: string): boolean;
}

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/-]/g;

function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, "\\$&");
}

/** `text` as a glob that matches exactly itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/** Index of the `]` closing the bracket expression opened at `start`, or -1. */
function bracketEnd(glob: string, start: number): number {
  let index = start + 1;
  if (glob[index] === "!" || glob[index] === "^") index++;
  if (glob[index] === "]") index++;
  return glob.indexOf("]", index);
}

function bracketRegex(body: string): string {
  const negated = body.startsWith("!") || body.startsWith("^");
  const members = negated ? body.slice(1) : body;
  const escaped = [...members]
    .map((char, index) =>
      char === "-" && index > 0 && index < members.length - 1 ? "-" : escapeRegex(char),
    )
    .join("");
  return `[${negated ? "^" : ""}${escaped}]`;
}

export function compileGlob(glob: string): WordMatcher {
  let regex = "";
  let literal = "";
  let wildcard = false;
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index] ?? "";
    const next = glob[index + 1];
    if (char === "\\" && next !== undefined) {
      literal += next;
      regex += escapeRegex(next);
      index++;
    } else if (char === "*" || char === "?") {
      wildcard = true;
      regex += char === "*" ? "[\\s\\S]*" : "[\\s\\S]";
    } else if (char === "[" && bracketEnd(glob, index) > 0) {
      const end = bracketEnd(glob, index);
      wildcard = true;
      regex += bracketRegex(glob.slice(index + 1, end));
      index = end;
    } else {
      literal += char;
      regex += escapeRegex(char);
    }
  }
  const star = glob === "*";
  if (!wildcard) return { text: glob, star, literal, test: (word) => word === literal };
  const compiled = new RegExp(`^${regex}$`);
  return { text: glob, star, literal: undefined, test: (word) => compiled.test(word) };
}

/**
 * Lexical normalization of a word containing `/`: `//` and `/./` collapsed,
 * `x/..` removed (`..` above `/` stays at `/`), a leading `./` and a trailing
 * `/` dropped. Words without `/` are returned unchanged.
 */
export function normalizePath(path: string): string {
  if (!path.includes("/")) return path;
  const absolute = path.startsWith("/");
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment !== "..") segments.push(segment);
    else if (segments.length > 0 && segments[segments.length - 1] !== "..") segments.pop();
    else if (!absolute) segments.push("..");
  }
  const joined = segments.join("/");
  if (absolute) return `/${joined}`;
  return joined === "" ? "." : joined;
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
