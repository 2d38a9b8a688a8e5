// The contract between the three parts of command policy (SPEC §5.4–5.6):
// the shell extractor (src/policy/shell: a command line → every simple
// command bash would run), the matcher (a simple command + rulesets → a
// decision) and the callers (exec enforcement, `policy check`, `policy test`).

import type { RuleAction, SignalHit } from "./types.js";

/** One word of a command after quote removal; `dynamic` when bash decides its value at run time. */
export type ArgWord =
  | { readonly literal: string }
  /** `source` is the word as typed (e.g. `$HOME/x`, `*.log`, `{a,b}`, `~`, `"$(id -u)"`). */
  | { readonly dynamic: string };

/** A simple command bash would run, with wrappers already unwrapped into separate commands. */
export interface ExtractedCommand {
  /** argv[0] is the program as written (path or name). */
  readonly argv: readonly ArgWord[];
  /** Files named in redirections (`< f`, `> f`, `>> f`, `2> f`): positional arguments too (SPEC §5.4). */
  readonly redirects: readonly ArgWord[];
  /**
   * The files it opens for writing by redirection (`>`, `>>`, `>|`, `&>`,
   * `&>>`, `<>`, `>& file`, with any fd), its compound commands' included
   * (`{ a; } > f`): not descriptor duplications, process substitutions,
   * `/dev/null`, `/dev/std*`, `/dev/fd/N` or `/dev/tty`.
   */
  readonly writes: readonly ArgWord[];
  /**
   * Set when what this command runs cannot be known statically, whatever its
   * arguments (SPEC §5.5): a shell fed code from a pipe/file/non-literal
   * string, an interpreter given inline code, `source $F`, `eval "$x"`, …
   * The text says why, for the user and the audit log.
   */
  readonly dynamic?: string;
  /** The command's text in the line, for explanations. */
  readonly source: string;
}

/** What a line gives a value to in the shell that runs it, nested code included. */
export interface ShellDefinitions {
  /** Assignment words (`A=1`, `A=1 cmd`, `a[0]=x`, `a+=(x)`) and `for`/`select` variables. */
  readonly variables: readonly string[];
  /** `f() …` and `function f …` definitions. */
  readonly functions: readonly string[];
}

export type Extraction =
  | {
      readonly status: "complete";
      readonly commands: readonly ExtractedCommand[];
      /** Present when the line defines any variable or function (interactive shells care). */
      readonly defines?: ShellDefinitions;
    }
  /** Open quote, trailing `\`, open heredoc, `if` without `fi`: more lines are needed. */
  | { readonly status: "incomplete"; readonly reason: string }
  /** Not valid bash: the line is denied with "cannot parse". */
  | { readonly status: "error"; readonly message: string };

/** The decision for one simple command. */
export interface CommandVerdict {
  readonly argv: readonly string[];
  /** The files it writes by redirection (as typed when dynamic); absent when none. */
  readonly writes?: readonly string[];
  readonly decision: RuleAction;
  /** `ruleset#N`, or `on_dynamic` / `default:<ruleset>` when no rule decided. */
  readonly rule?: string;
  readonly reason?: string;
  readonly risk: number;
}

/** The decision for a whole command line (SPEC §5.6 `command`). */
export interface LineVerdict {
  readonly status: Extraction["status"];
  /** The most severe of the commands' decisions (deny > approve > warn > allow). */
  readonly decision: RuleAction;
  readonly rule?: string;
  readonly reason?: string;
  readonly risk: number;
  readonly commands: readonly CommandVerdict[];
  /**
   * Signal rules that fired on the line (decided with session facts only).
   * A signal's action is already folded into `decision` (rule `signal:<name>`);
   * `end-session` shows as deny and the caller ends the session.
   */
  readonly signals?: readonly SignalHit[];
}
