// Test helpers for the command matcher: extracted commands written as plain
// text (no shell parser involved) and a minimal access entry.
// In `command("rm -rf $X > /etc/passwd")`, a word containing `$`, `*` or `~`
// is dynamic, and `>`, `>>`, `<`, `2>` (attached or not) name a redirect target;
// the targets of `>`, `>>` and `2>` are also written (not /dev/null).
import type { ArgWord, ExtractedCommand, Extraction } from "../../src/policy/command-types.js";
import type { AccessEntry, RuleAction } from "../../src/policy/types.js";

const REDIRECT = /^(\d?>>?|<)(.*)$/;

export function argWord(text: string): ArgWord {
  return /[$*~]/.test(text) ? { dynamic: text } : { literal: text };
}

export function command(text: string, dynamic?: string): ExtractedCommand {
  const argv: ArgWord[] = [];
  const redirects: ArgWord[] = [];
  const writes: ArgWord[] = [];
  const tokens = text.split(/\s+/).filter((token) => token !== "");
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] ?? "";
    const redirect = REDIRECT.exec(token);
    if (redirect === null) {
      argv.push(argWord(token));
      continue;
    }
    const target = redirect[2] === "" ? tokens[++index] : redirect[2];
    if (target === undefined) continue;
    redirects.push(argWord(target));
    if (redirect[1]?.includes(">") && target !== "/dev/null") writes.push(argWord(target));
  }
  return { argv, redirects, writes, source: text, ...(dynamic === undefined ? {} : { dynamic }) };
}

/** A complete extraction; commands separated by ` ; `. */
export function extraction(text: string): Extraction {
  return { status: "complete", commands: text.split(" ; ").map((part) => command(part)) };
}

export function accessEntry(commands: readonly string[], onDynamic: RuleAction = "deny") {
  const entry: AccessEntry = {
    name: "test-entry",
    source: { file: "access.yaml", line: 1, col: 1 },
    subjects: { groups: [], users: [] },
    targets: { names: ["web1"] },
    session: "allow",
    commands,
    on_dynamic: onDynamic,
    on_unverified: "deny",
    file_transfer: "deny",
    files: [],
    forwarding: "deny",
    mask: [],
    mask_input: [],
    mask_recording_only: false,
  };
  return entry;
}
