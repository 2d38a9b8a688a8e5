// The shell parser's output: simple commands with their words (quote removal
// done, `value` undefined when bash decides the word at run time), their
// redirections and those of the compound commands around them, the names
// the line defines, plus the two ways parsing stops short of a complete line.

export interface Word {
  /** The word as typed. */
  readonly source: string;
  /** The word after quote removal; undefined when it depends on expansion, globbing or substitution. */
  readonly value: string | undefined;
}

export interface HereDoc {
  /** The body as bash would feed it; undefined when it contains expansions. */
  value: string | undefined;
}

export interface Redirect {
  /** `<`, `>`, `>>`, `<<`, `<<-`, `<<<`, `<>`, `>&`, `<&`, `&>`, `&>>`, `>|`. */
  readonly op: string;
  /** The file descriptor written before the operator, if any. */
  readonly fd: string | undefined;
  readonly target: Word;
  readonly heredoc: HereDoc | undefined;
}

export interface SimpleCommand {
  /** Words after the leading assignments: program and arguments. */
  readonly words: readonly Word[];
  readonly redirects: readonly Redirect[];
  /** Redirections of the compound commands around it (`{ …; } > f`), innermost first. */
  readonly outerRedirects: readonly Redirect[];
  readonly source: string;
}

/** What a line gives a value to in the shell that runs it, wherever it is written. */
export interface DefinedNames {
  /** Assignment words (`A=1`, `A=1 cmd`, `a[0]=x`, `a+=(x)`) and `for`/`select` variables. */
  readonly variables: string[];
  /** `f() …` and `function f …` definitions. */
  readonly functions: string[];
}

/** More input is needed: bash would prompt for a continuation line. */
export class IncompleteInput extends Error {}

/** The input is not valid bash. */
export class ShellSyntaxError extends Error {}
