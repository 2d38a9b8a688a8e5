// Character-level scanning of bash words: quotes, backslashes, `$'…'`,
// `$"…"`, parameter and arithmetic expansions, command substitutions and
// backticks (handed to the parser), globs, brace expansion and `~`. The
// grammar lives in parser.ts, which extends this class.

import { decodeAnsiC } from "./ansi-c.js";
import { IncompleteInput, ShellSyntaxError, type Word } from "./syntax.js";

const METACHARS = new Set([" ", "\t", "\n", ";", "&", "|", "(", ")", "<", ">"]);
const SPECIAL_PARAMS = new Set([
  "@",
  "*",
  "#",
  "?",
  "-",
  "$",
  "!",
  "0",
  "1",
  "2",
  "3",
  "4",
  "5",
  "6",
  "7",
  "8",
  "9",
]);
const DQUOTE_ESCAPABLE = new Set(["$", "`", '"', "\\"]);
const MAX_NESTING = 200;

/** Accumulates one word: its value after quote removal and whether bash computes it. */
export class WordBuilder {
  value = "";
  dynamic = false;
  private bracketOpen = false;
  private braceOpen = false;
  private braceSeparator = false;

  literal(text: string): void {
    this.value += text;
  }

  /** An unquoted character: globs, brace expansion and tilde make the word dynamic. */
  unquoted(c: string, atStart: boolean): void {
    this.value += c;
    if (c === "*" || c === "?" || (c === "]" && this.bracketOpen)) this.dynamic = true;
    if (c === "~" && atStart) this.dynamic = true;
    if (c === "[") this.bracketOpen = true;
    if (c === "{") this.braceOpen = true;
    if (this.braceOpen && (c === "," || this.value.endsWith(".."))) this.braceSeparator = true;
    if (c === "}" && this.braceSeparator) this.dynamic = true;
  }
}

export abstract class ShellLexer {
  protected pos = 0;
  private depth = 0;

  constructor(
    protected readonly src: string,
    protected readonly nesting: number,
  ) {
    if (nesting > MAX_NESTING) throw new ShellSyntaxError("commands nested too deeply");
  }

  /** Parses the commands of `$(…)` or `<(…)` from `pos` and consumes the closing `)`. */
  protected abstract parseSubstitution(): void;

  /** Parses the commands of a backtick substitution whose code has been unescaped. */
  protected abstract parseBacktickCode(code: string): void;

  /** Tracks grammar recursion so hostile nesting is an error, not a stack overflow. */
  protected enter(): void {
    if (++this.depth + this.nesting > MAX_NESTING) this.syntaxError("commands nested too deeply");
  }

  protected leave(): void {
    this.depth--;
  }

  protected peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  protected startsWith(text: string): boolean {
    return this.src.startsWith(text, this.pos);
  }

  protected atMeta(offset = 0): boolean {
    const c = this.peek(offset);
    return c === undefined || METACHARS.has(c);
  }

  protected incomplete(reason: string): never {
    throw new IncompleteInput(reason);
  }

  protected syntaxError(message: string): never {
    throw new ShellSyntaxError(message);
  }

  /** Skips spaces, tabs, line continuations and a comment; stops at a newline. */
  protected skipBlanks(): void {
    for (;;) {
      const c = this.peek();
      if (c === " " || c === "\t") this.pos++;
      else if (c === "\\" && this.peek(1) === "\n") this.pos += 2;
      else if (c === "#") this.skipComment();
      else return;
    }
  }

  private skipComment(): void {
    const end = this.src.indexOf("\n", this.pos);
    this.pos = end === -1 ? this.src.length : end;
  }

  /** Reads one word starting at `pos` (which is not a metacharacter). */
  protected readWord(): Word {
    const start = this.pos;
    const word = new WordBuilder();
    while (!this.atMeta()) this.readWordPart(word, start);
    return {
      source: this.src.slice(start, this.pos),
      value: word.dynamic ? undefined : word.value,
    };
  }

  private readWordPart(word: WordBuilder, start: number): void {
    const c = this.peek() ?? "";
    if (c === "\\") this.readBackslash(word);
    else if (c === "'") word.literal(this.readSingleQuoted());
    else if (c === '"') this.readDoubleQuoted(word);
    else if (c === "`") this.readBacktick(word, false);
    else if (c === "$") this.readDollar(word, false);
    else {
      this.pos++;
      word.unquoted(c, this.pos - 1 === start);
    }
  }

  /** A trailing backslash asks for another line at the prompt, but is literal at the end of code. */
  private readBackslash(word: WordBuilder): void {
    const next = this.peek(1);
    if (next === undefined && this.nesting > 0) {
      this.pos++;
      word.literal("\\");
      return;
    }
    if (next === undefined) this.incomplete("trailing backslash");
    this.pos += 2;
    if (next !== "\n") word.literal(next);
  }

  private readSingleQuoted(): string {
    const end = this.src.indexOf("'", this.pos + 1);
    if (end === -1) this.incomplete("unterminated single quote");
    const text = this.src.slice(this.pos + 1, end);
    this.pos = end + 1;
    return text;
  }

  private readDoubleQuoted(word: WordBuilder): void {
    this.pos++;
    this.readDoubleQuotedBody(word, '"');
    if (this.peek() === undefined) this.incomplete("unterminated double quote");
    this.pos++;
  }

  /** Double-quote rules until `end` (or the end of input for heredoc bodies). */
  protected readDoubleQuotedBody(word: WordBuilder, end: string | undefined): void {
    for (let c = this.peek(); c !== undefined && c !== end; c = this.peek()) {
      if (c === "\\") this.readDquoteBackslash(word, end);
      else if (c === "$") this.readDollar(word, true);
      else if (c === "`") this.readBacktick(word, true);
      else {
        word.literal(c);
        this.pos++;
      }
    }
  }

  private readDquoteBackslash(word: WordBuilder, end: string | undefined): void {
    const next = this.peek(1);
    if (next === undefined) {
      if (end !== undefined) this.incomplete("unterminated double quote");
      word.literal("\\");
      this.pos++;
      return;
    }
    this.pos += 2;
    if (next === "\n") return;
    word.literal(DQUOTE_ESCAPABLE.has(next) ? next : `\\${next}`);
  }

  private readDollar(word: WordBuilder, inDquote: boolean): void {
    const next = this.peek(1);
    if (next === "'" && !inDquote) this.readAnsiC(word);
    else if (next === '"' && !inDquote) {
      this.pos++;
      this.readDoubleQuoted(word);
    } else if (next === "(") this.readDollarParen(word);
    else if (next === "{") this.readBracedParameter(word);
    else if (next !== undefined && (/[A-Za-z_]/.test(next) || SPECIAL_PARAMS.has(next))) {
      this.readParameterName(next);
      word.dynamic = true;
    } else {
      this.pos++;
      word.literal("$");
    }
  }

  private readParameterName(first: string): void {
    this.pos += 2;
    if (/[A-Za-z_]/.test(first)) while (/[A-Za-z0-9_]/.test(this.peek() ?? "")) this.pos++;
  }

  private readAnsiC(word: WordBuilder): void {
    let i = this.pos + 2;
    while (i < this.src.length && this.src[i] !== "'") i += this.src[i] === "\\" ? 2 : 1;
    if (i >= this.src.length) this.incomplete("unterminated $'…' string");
    word.literal(decodeAnsiC(this.src.slice(this.pos + 2, i)));
    this.pos = i + 1;
  }

  private readDollarParen(word: WordBuilder): void {
    word.dynamic = true;
    if (this.peek(2) === "(" && this.tryArithmetic(3)) return;
    this.pos += 2;
    this.parseSubstitution();
  }

  /**
   * Scans `((…))`-style arithmetic whose body starts `bodyOffset` past `pos`,
   * parsing substitutions inside it. Returns false (and restores `pos`) when
   * the parentheses do not close with `))`, so the caller can retry the text
   * as nested subshells, as bash does.
   */
  protected tryArithmetic(bodyOffset: number): boolean {
    const start = this.pos;
    this.pos += bodyOffset;
    let depth = 0;
    const scratch = new WordBuilder();
    for (let c = this.peek(); c !== undefined; c = this.peek()) {
      if (c === ")" && depth === 0) {
        if (this.peek(1) === ")") {
          this.pos += 2;
          return true;
        }
        break;
      }
      if (c === "(") depth++;
      if (c === ")") depth--;
      this.readArithmeticPart(scratch, c);
    }
    if (this.peek() === undefined) this.incomplete("unterminated arithmetic expression");
    this.pos = start;
    return false;
  }

  private readArithmeticPart(scratch: WordBuilder, c: string): void {
    if (c === "$") this.readDollar(scratch, false);
    else if (c === "`") this.readBacktick(scratch, false);
    else if (c === '"') this.readDoubleQuoted(scratch);
    else if (c === "'") this.readSingleQuoted();
    else if (c === "\\") this.readBackslash(scratch);
    else this.pos++;
  }

  private readBracedParameter(word: WordBuilder): void {
    word.dynamic = true;
    this.pos += 2;
    let depth = 0;
    for (let c = this.peek(); c !== "}" || depth > 0; c = this.peek()) {
      if (c === undefined) this.incomplete("unterminated parameter expansion");
      if (c === "{") depth++;
      if (c === "}") depth--;
      this.readArithmeticPart(word, c);
    }
    this.pos++;
  }

  /** Backtick code: `\$`, `` \` `` and `\\` (and `\"` inside double quotes) lose their backslash. */
  private readBacktick(word: WordBuilder, inDquote: boolean): void {
    word.dynamic = true;
    let code = "";
    let i = this.pos + 1;
    for (; i < this.src.length && this.src[i] !== "`"; i++) {
      const c = this.src[i] ?? "";
      const next = this.src[i + 1];
      const unescapes = next === "$" || next === "`" || next === "\\" || (inDquote && next === '"');
      if (c === "\\" && next !== undefined && unescapes) {
        code += next;
        i++;
      } else code += c;
    }
    if (i >= this.src.length) this.incomplete("unterminated backtick substitution");
    this.pos = i + 1;
    this.parseBacktickCode(code);
  }
}
