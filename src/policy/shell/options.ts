// Getopt-style scanning of a wrapper's own options, so the wrapped command
// is found where the wrapper would find it: short clusters (`-Eu root`),
// attached values (`-uroot`, `--user=root`), `--`, and options that take
// the next word as their value.

import type { ArgWord } from "../command-types.js";

/** A word typed as `NAME=…`: an operand (env assignment) whatever its value. */
export const ASSIGNMENT_SOURCE = /^[A-Za-z_][A-Za-z0-9_]*=/;

export interface OptionSyntax {
  /** Options taking a value, short (`-u`) and long (`--user`). */
  readonly withValue: ReadonlySet<string>;
  /** Options whose value is optional and only ever attached (`-i[REPL]`, `-l[N]`). */
  readonly optionalValue?: ReadonlySet<string>;
}

export interface ParsedOption {
  readonly name: string;
  readonly value: ArgWord | undefined;
}

export type OptionScan =
  | { readonly options: readonly ParsedOption[]; readonly rest: readonly ArgWord[] }
  | { readonly dynamic: string };

export function literalOf(word: ArgWord | undefined): string | undefined {
  return word !== undefined && "literal" in word ? word.literal : undefined;
}

export function syntax(withValue: string, optionalValue = ""): OptionSyntax {
  const split = (list: string) => new Set(list.split(" ").filter((name) => name !== ""));
  return { withValue: split(withValue), optionalValue: split(optionalValue) };
}

function isOption(text: string): boolean {
  return text.startsWith("-") && text !== "-";
}

function longOption(text: string, next: ArgWord | undefined, spec: OptionSyntax): ParsedOption[] {
  const eq = text.indexOf("=");
  if (eq !== -1) return [{ name: text.slice(0, eq), value: { literal: text.slice(eq + 1) } }];
  return [{ name: text, value: spec.withValue.has(text) ? next : undefined }];
}

/** The options of one short cluster; `consumedNext` when the last one took the next word. */
function shortCluster(text: string, next: ArgWord | undefined, spec: OptionSyntax) {
  const options: ParsedOption[] = [];
  for (let i = 1; i < text.length; i++) {
    const name = `-${text[i]}`;
    const attached = text.slice(i + 1);
    if (spec.optionalValue?.has(name)) {
      options.push({ name, value: attached === "" ? undefined : { literal: attached } });
      return { options, consumedNext: false };
    }
    if (spec.withValue.has(name)) {
      const value = attached === "" ? next : { literal: attached };
      options.push({ name, value });
      return { options, consumedNext: attached === "" };
    }
    options.push({ name, value: undefined });
  }
  return { options, consumedNext: false };
}

/** Scans options up to the first operand (or `--`). A computed option word makes the scan dynamic. */
export function scanOptions(args: readonly ArgWord[], spec: OptionSyntax): OptionScan {
  const options: ParsedOption[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const word = args[i] as ArgWord;
    if ("dynamic" in word && ASSIGNMENT_SOURCE.test(word.dynamic)) break;
    const text = literalOf(word);
    if (text === undefined) return { dynamic: "wrapper options are computed at run time" };
    if (text === "--") return { options, rest: args.slice(i + 1) };
    if (!isOption(text)) break;
    const next = args[i + 1];
    if (text.startsWith("--")) {
      const parsed = longOption(text, next, spec);
      options.push(...parsed);
      if (parsed[0]?.value === next && next !== undefined && !text.includes("=")) i++;
      continue;
    }
    const cluster = shortCluster(text, next, spec);
    options.push(...cluster.options);
    if (cluster.consumedNext) i++;
  }
  return { options, rest: args.slice(i) };
}

export function hasOption(
  scan: { readonly options: readonly ParsedOption[] },
  ...names: string[]
): boolean {
  return scan.options.some((option) => names.includes(option.name));
}

export function optionValue(
  scan: { readonly options: readonly ParsedOption[] },
  ...names: string[]
): ArgWord | undefined {
  return scan.options.findLast((option) => names.includes(option.name))?.value;
}
