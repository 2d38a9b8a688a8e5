// Recursive-descent parser for the bash grammar: lists, pipelines, compound
// commands, functions, redirections and heredocs. It keeps only what command
// extraction needs: every simple command, in source order, wherever it is
// nested (substitutions, subshells, groups, control flow, function bodies),
// with the redirections of the compound commands around it.

import { ShellLexer, WordBuilder } from "./lexer.js";
import {
  type DefinedNames,
  type HereDoc,
  IncompleteInput,
  type Redirect,
  ShellSyntaxError,
  type SimpleCommand,
  type Word,
} from "./syntax.js";

const REDIRECT =
  /(\d+|\{[A-Za-z_][A-Za-z0-9_]*\})?(<<<|<<-|<<|<>|<&|>>|>&|>\||&>>|&>|<(?!\()|>(?!\())/y;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const CLOSERS = new Set(["then", "elif", "else", "fi", "do", "done", "esac", "}", "in"]);
const RESERVED_CANDIDATE = /[^\s;&|()<>"'`\\$]+/y;
const CASE_ENDS = [";;&", ";;", ";&"];
const COMPOUND_STARTS = new Set(["{", "if", "while", "until", "for", "select", "case", "[["]);

interface PendingHeredoc {
  readonly delimiter: string;
  readonly stripTabs: boolean;
  readonly quoted: boolean;
  readonly doc: HereDoc;
}

export class ShellParser extends ShellLexer {
  private pending: PendingHeredoc[] = [];
  private substitutionDepth = 0;
  /**
   * Bash 5.2 (up to at least patch 15) drops the `;` that follows a heredoc
   * inside `$(…)`, joining two commands into one: such lines are rejected
   * rather than read differently from the bash that runs them.
   */
  private heredocInSubstitution = false;

  constructor(
    src: string,
    nesting: number,
    private readonly out: SimpleCommand[],
    private readonly names: DefinedNames,
  ) {
    super(src, nesting);
  }

  /** Parses the whole input; every simple command found is appended to `out`. */
  parseAll(): void {
    this.parseList(["EOF"], true);
    if (this.pending.length > 0) this.incomplete("open heredoc");
  }

  protected override parseSubstitution(): void {
    this.substitutionDepth++;
    try {
      this.parseList([")"], true);
    } finally {
      this.substitutionDepth--;
    }
    if (this.substitutionDepth === 0) this.heredocInSubstitution = false;
    this.pos++;
  }

  /**
   * Bash parses backtick code only when it runs it, line by line: bad code
   * there fails that substitution alone, after running the lines before it.
   * The commands parsed before the failure are kept (a superset of those).
   */
  protected override parseBacktickCode(code: string): void {
    try {
      new ShellParser(code, this.nesting + 1, this.out, this.names).parseAll();
    } catch (error) {
      if (!(error instanceof IncompleteInput || error instanceof ShellSyntaxError)) throw error;
    }
  }

  // ── lists ────────────────────────────────────────────────────────────

  /** Parses commands until one of `ends` (a reserved word, `)`, `;;` or `EOF`); returns it. */
  private parseList(ends: readonly string[], allowEmpty: boolean): string {
    let count = 0;
    for (;;) {
      this.skipBlanksAndNewlines();
      const end = this.endAt(ends);
      if (end !== undefined) {
        if (count === 0 && !allowEmpty) this.syntaxError(`syntax error near \`${end}'`);
        return end;
      }
      this.parseAndOr();
      count++;
      this.skipBlanks();
      if (!this.consumeSeparator() && this.endAt(ends) === undefined) {
        this.syntaxError(`syntax error near \`${this.peek()}'`);
      }
    }
  }

  private consumeSeparator(): boolean {
    const c = this.peek();
    if (c === "\n") return this.consumeNewline();
    if (c === ";" && this.peek(1) !== ";" && this.peek(1) !== "&") {
      if (this.heredocInSubstitution) this.syntaxError("`;` after a heredoc inside $(…)");
      return this.advance(1);
    }
    if (c === "&" && this.peek(1) !== "&" && this.peek(1) !== ">") return this.advance(1);
    return false;
  }

  private endAt(ends: readonly string[]): string | undefined {
    const c = this.peek();
    if (c === undefined) {
      if (ends.includes("EOF")) return "EOF";
      return this.incomplete(`expected \`${ends[0]}'`);
    }
    if (c === ")") return ends.includes(")") ? ")" : this.syntaxError("syntax error near `)'");
    const caseEnd = CASE_ENDS.find((op) => this.startsWith(op));
    if (caseEnd !== undefined) {
      return ends.includes(";;") ? caseEnd : this.syntaxError(`syntax error near \`${caseEnd}'`);
    }
    const word = this.peekReserved();
    if (word === undefined || !CLOSERS.has(word) || word === "in") return undefined;
    return ends.includes(word) ? word : this.syntaxError(`syntax error near \`${word}'`);
  }

  private parseAndOr(): void {
    this.parsePipeline();
    for (;;) {
      this.skipBlanks();
      if (!this.startsWith("&&") && !this.startsWith("||")) return;
      this.pos += 2;
      this.skipBlanksAndNewlines();
      this.parsePipeline();
    }
  }

  private parsePipeline(): void {
    this.skipPipelinePrefixes();
    this.parseCommand();
    for (;;) {
      this.skipBlanks();
      if (this.startsWith("||") || this.peek() !== "|") return;
      this.pos += this.startsWith("|&") ? 2 : 1;
      this.skipBlanksAndNewlines();
      this.parseCommand();
    }
  }

  /** `!`, `time` and `time -p` before a pipeline. */
  private skipPipelinePrefixes(): void {
    for (;;) {
      this.skipBlanks();
      const word = this.peekReserved();
      if (word === "!") this.pos++;
      else if (word === "time") {
        this.pos += 4;
        this.skipBlanks();
        if (this.startsWith("-p") && this.atMeta(2)) this.pos += 2;
      } else return;
    }
  }

  // ── commands ─────────────────────────────────────────────────────────

  private parseCommand(): void {
    this.enter();
    try {
      this.parseCommandHere();
    } finally {
      this.leave();
    }
  }

  private parseCommandHere(): void {
    this.skipBlanks();
    const c = this.peek();
    if (c === undefined) this.incomplete("command expected");
    const first = this.out.length;
    if (c === "(") {
      this.parseParenCommand();
      this.parseTrailingRedirects(first);
      return;
    }
    if (this.atMeta() && this.redirectAhead() === undefined)
      this.syntaxError(`syntax error near \`${c}'`);
    const word = this.peekReserved();
    if (word !== undefined && this.parseCompound(word)) this.parseTrailingRedirects(first);
    else this.parseSimpleCommand();
  }

  private parseParenCommand(): void {
    if (this.peek(1) === "(" && this.tryArithmetic(2)) return;
    this.pos++;
    this.parseList([")"], false);
    this.pos++;
  }

  /** Parses a compound command introduced by `word`; false when `word` does not start one. */
  private parseCompound(word: string): boolean {
    const parsers: Readonly<Record<string, () => void>> = Object.assign(Object.create(null), {
      "{": () => this.parseBody("}"),
      if: () => this.parseIf(),
      while: () => this.parseLoop(),
      until: () => this.parseLoop(),
      for: () => this.parseFor(),
      select: () => this.parseFor(),
      case: () => this.parseCase(),
      function: () => this.parseFunctionKeyword(),
      "[[": () => this.parseDoubleBracket(),
    });
    const parse = parsers[word];
    if (parse === undefined) {
      if (CLOSERS.has(word) && word !== "in") this.syntaxError(`syntax error near \`${word}'`);
      return false;
    }
    this.pos += word.length;
    parse();
    return true;
  }

  /** A list closed by the reserved word `end`, which is consumed. */
  private parseBody(end: string): void {
    this.parseList([end], false);
    this.pos += end.length;
  }

  private parseIf(): void {
    this.parseBody("then");
    for (;;) {
      const end = this.parseList(["elif", "else", "fi"], false);
      this.pos += end.length;
      if (end === "fi") return;
      if (end === "else") break;
      this.parseBody("then");
    }
    this.parseBody("fi");
  }

  private parseLoop(): void {
    this.parseBody("do");
    this.parseBody("done");
  }

  private parseFor(): void {
    this.skipBlanks();
    if (this.startsWith("((")) {
      if (!this.tryArithmetic(2)) this.syntaxError("syntax error in for ((…))");
    } else {
      this.defineVariable(this.readRequiredWord("for").source);
      this.skipBlanksAndNewlines();
      if (this.peekReserved() === "in") {
        this.pos += 2;
        this.readWordsUntilSeparator();
      }
    }
    this.skipSeparators();
    const opener = this.peekReserved();
    if (opener !== "do" && opener !== "{") this.expected("do");
    this.pos += opener.length;
    this.parseBody(opener === "do" ? "done" : "}");
  }

  private expected(word: string): never {
    if (this.peek() === undefined) this.incomplete(`expected \`${word}'`);
    return this.syntaxError(`syntax error: expected \`${word}'`);
  }

  private parseCase(): void {
    this.skipBlanks();
    this.readRequiredWord("case");
    this.skipBlanksAndNewlines();
    if (this.peekReserved() !== "in") this.expected("in");
    this.pos += 2;
    while (this.parseCaseItem()) {}
  }

  /** One `pattern) list ;;` item; false after `esac`. */
  private parseCaseItem(): boolean {
    this.skipBlanksAndNewlines();
    if (this.peekReserved() === "esac") {
      this.pos += 4;
      return false;
    }
    if (this.peek() === "(") this.pos++;
    this.readCasePatterns();
    const end = this.parseList([";;", "esac"], true);
    if (end !== "esac") this.pos += end.length;
    return true;
  }

  private readCasePatterns(): void {
    for (;;) {
      this.skipBlanks();
      this.readRequiredWord("case pattern");
      this.skipBlanks();
      const c = this.advanceChar();
      if (c === ")") return;
      if (c !== "|") this.unexpected(c);
    }
  }

  private parseFunctionKeyword(): void {
    this.skipBlanks();
    this.defineFunction(this.readRequiredWord("function"));
    this.skipBlanks();
    if (this.peek() === "(") this.expectEmptyParens();
    this.parseFunctionBody();
  }

  /** A function body is a compound command. */
  private parseFunctionBody(): void {
    this.skipBlanksAndNewlines();
    const word = this.peekReserved();
    if (this.peek() !== "(" && (word === undefined || !COMPOUND_STARTS.has(word))) {
      this.unexpected(this.peek() === undefined ? undefined : (word ?? this.peek()));
    }
    this.parseCommand();
  }

  private expectEmptyParens(): void {
    this.pos++;
    this.skipBlanks();
    const c = this.advanceChar();
    if (c !== ")") this.unexpected(c);
  }

  /** `[[ … ]]`: operators are skipped, words are read for their substitutions. */
  private parseDoubleBracket(): void {
    for (;;) {
      this.skipBlanksAndNewlines();
      const c = this.peek();
      if (c === undefined) this.incomplete("expected `]]'");
      if (this.startsWith("]]") && this.atMeta(2)) {
        this.pos += 2;
        return;
      }
      if (this.atMeta()) this.pos++;
      else this.readWord();
    }
  }

  // ── simple commands ──────────────────────────────────────────────────

  private parseSimpleCommand(): void {
    const start = this.pos;
    const words: Word[] = [];
    const redirects: Redirect[] = [];
    for (;;) {
      this.skipBlanks();
      if (this.parseRedirect(redirects)) continue;
      const c = this.peek();
      if (c === "(" && this.isArrayAssignment(words)) {
        this.readArrayElements();
        continue;
      }
      if (c === "(" && this.isFunctionName(words, redirects)) {
        this.defineFunction(words[0] as Word);
        this.parseFunctionDefinition();
        return;
      }
      if (this.atProcessSubstitution()) words.push(this.readProcessSubstitution());
      else if (c === undefined || this.atMeta()) break;
      else words.push(this.readWord());
    }
    const assignments = this.assignmentCount(words);
    for (const word of words.slice(0, assignments)) this.defineVariable(word.source);
    const command = words.slice(assignments);
    const source = this.src.slice(start, this.pos).trim();
    this.out.push({ words: command, redirects, outerRedirects: [], source });
  }

  private assignmentCount(words: readonly Word[]): number {
    const first = words.findIndex((word) => !ASSIGNMENT.test(word.source));
    return first === -1 ? words.length : first;
  }

  private defineVariable(source: string): void {
    this.names.variables.push(VARIABLE_NAME.exec(source)?.[0] ?? source);
  }

  private defineFunction(name: Word): void {
    this.names.functions.push(name.value ?? name.source);
  }

  private isFunctionName(words: readonly Word[], redirects: readonly Redirect[]): boolean {
    return words.length === 1 && redirects.length === 0 && words[0]?.value !== undefined;
  }

  private parseFunctionDefinition(): void {
    this.expectEmptyParens();
    this.parseFunctionBody();
  }

  private isArrayAssignment(words: readonly Word[]): boolean {
    const last = words.at(-1);
    return (
      last?.source.endsWith("=") === true &&
      this.assignmentCount(words) === words.length &&
      this.src[this.pos - 1] === "="
    );
  }

  private readArrayElements(): void {
    this.pos++;
    for (;;) {
      this.skipBlanksAndNewlines();
      const c = this.peek();
      if (c === undefined) this.incomplete("unterminated array assignment");
      if (c === ")") return void this.pos++;
      if (this.atMeta()) this.unexpected(c);
      this.readWord();
    }
  }

  private readProcessSubstitution(): Word {
    const start = this.pos;
    this.pos += 2;
    this.parseSubstitution();
    return { source: this.src.slice(start, this.pos), value: undefined };
  }

  /** A compound command's redirections: they apply to every command parsed in it since `first`. */
  private parseTrailingRedirects(first: number): void {
    const end = this.out.length;
    const redirects: Redirect[] = [];
    for (;;) {
      this.skipBlanks();
      if (!this.parseRedirect(redirects)) break;
    }
    if (!this.atMeta() || this.peek() === "(") this.unexpected(this.peek() ?? "");
    if (redirects.length === 0) return;
    for (const [index, command] of this.out.slice(first, end).entries()) {
      const outerRedirects = [...command.outerRedirects, ...redirects];
      this.out[first + index] = { ...command, outerRedirects };
    }
  }

  private redirectAhead(): RegExpExecArray | undefined {
    REDIRECT.lastIndex = this.pos;
    return REDIRECT.exec(this.src) ?? undefined;
  }

  private parseRedirect(redirects: Redirect[]): boolean {
    const match = this.redirectAhead();
    if (match === undefined) return false;
    this.pos += match[0].length;
    const op = match[2] ?? "";
    this.skipBlanks();
    const target = this.readRedirectTarget();
    const heredoc =
      op === "<<" || op === "<<-" ? this.queueHeredoc(target, op === "<<-") : undefined;
    redirects.push({ op, fd: match[1], target, heredoc });
    return true;
  }

  /** A word, or a process substitution (`> >(tee f)`): bash opens its pipe. */
  private readRedirectTarget(): Word {
    if (this.atProcessSubstitution()) return this.readProcessSubstitution();
    if (this.atMeta()) this.unexpected(this.peek() ?? "\n");
    return this.readWord();
  }

  private atProcessSubstitution(): boolean {
    const c = this.peek();
    return (c === "<" || c === ">") && this.peek(1) === "(";
  }

  // ── heredocs ─────────────────────────────────────────────────────────

  private queueHeredoc(target: Word, stripTabs: boolean): HereDoc {
    const doc: HereDoc = { value: undefined };
    const quoted = /["'\\]/.test(target.source);
    const delimiter = target.value ?? target.source.replace(/["'\\]/g, "");
    this.pending.push({ delimiter, stripTabs, quoted, doc });
    return doc;
  }

  private consumeNewline(): true {
    this.pos++;
    const pending = this.pending;
    this.pending = [];
    if (pending.length > 0 && this.substitutionDepth > 0) this.heredocInSubstitution = true;
    for (const heredoc of pending) this.readHeredocBody(heredoc);
    return true;
  }

  private readHeredocBody(heredoc: PendingHeredoc): void {
    const lines: string[] = [];
    for (;;) {
      if (this.pos >= this.src.length)
        this.incomplete(`open heredoc (expected \`${heredoc.delimiter}')`);
      const end = this.src.indexOf("\n", this.pos);
      const raw = this.src.slice(this.pos, end === -1 ? undefined : end);
      this.pos = end === -1 ? this.src.length : end + 1;
      const line = heredoc.stripTabs ? raw.replace(/^\t+/, "") : raw;
      if (line === heredoc.delimiter) break;
      lines.push(`${line}\n`);
    }
    heredoc.doc.value = this.heredocValue(lines.join(""), heredoc.quoted);
  }

  /** The body's value, parsing the substitutions of an unquoted heredoc. */
  private heredocValue(body: string, quoted: boolean): string | undefined {
    if (quoted) return body;
    if (!/[$`\\]/.test(body)) return body;
    new ShellParser(body, this.nesting + 1, this.out, this.names).scanExpansions();
    return undefined;
  }

  private scanExpansions(): void {
    this.readDoubleQuotedBody(new WordBuilder(), undefined);
  }

  // ── small helpers ────────────────────────────────────────────────────

  /** The unquoted word at `pos` if it could be a reserved word, without consuming it. */
  private peekReserved(): string | undefined {
    RESERVED_CANDIDATE.lastIndex = this.pos;
    const word = RESERVED_CANDIDATE.exec(this.src)?.[0];
    return word !== undefined && this.atMeta(word.length) ? word : undefined;
  }

  private readRequiredWord(context: string): Word {
    if (this.peek() === undefined) this.incomplete(`${context}: word expected`);
    if (this.atMeta()) this.unexpected(this.peek() ?? "");
    return this.readWord();
  }

  private readWordsUntilSeparator(): void {
    for (;;) {
      this.skipBlanks();
      if (this.atMeta()) return;
      this.readWord();
    }
  }

  private skipSeparators(): void {
    for (;;) {
      this.skipBlanks();
      if (this.peek() === "\n") this.consumeNewline();
      else if (this.peek() === ";" && this.peek(1) !== ";") this.pos++;
      else return;
    }
  }

  private skipBlanksAndNewlines(): void {
    for (;;) {
      this.skipBlanks();
      if (this.peek() !== "\n") return;
      this.consumeNewline();
    }
  }

  private advance(count: number): true {
    this.pos += count;
    return true;
  }

  private advanceChar(): string | undefined {
    const c = this.peek();
    if (c === undefined) this.incomplete("unexpected end of input");
    this.pos++;
    return c;
  }

  private unexpected(c: string | undefined): never {
    if (c === undefined || c === "") this.incomplete("unexpected end of input");
    return this.syntaxError(`syntax error near unexpected token \`${c === "\n" ? "newline" : c}'`);
  }
}

/**
 * Appends every simple command of `line` to `out`, in source order, and the
 * names it defines to `names`. Throws IncompleteInput or ShellSyntaxError;
 * `out` and `names` then hold what was parsed before the failure.
 */
export function parseShell(
  line: string,
  out: SimpleCommand[],
  nesting = 0,
  names: DefinedNames = { variables: [], functions: [] },
): void {
  new ShellParser(line, nesting, out, names).parseAll();
}
