// `portcullis signals [filters] [--json]`: the insider-threat signals in the
// audit index (docs/signals.md), newest first, one line each (time, the
// signal's score, the session's score after it, user, target, rule, reason,
// session) or one JSON array.

import type { Command } from "commander";
import { type SignalFilter, type SignalRow, signalJson } from "../../store/index.js";
import { formatScore, withIndex } from "../audit-index-options.js";
import { configFor } from "../config-option.js";
import { instantOrAgoOption, limitOption, scoreOption } from "../option-parsers.js";

interface SignalsOptions extends SignalFilter {
  json?: boolean;
}

export function registerSignalsCommand(program: Command): void {
  program
    .command("signals")
    .description("insider-threat signals, newest first")
    .option("--user <user>", "only this user's")
    .option("--session <id>", "only this session's")
    .option("--rule <rule>", "only this rule's (or behavioural signal's, or integrity check's)")
    .option("--source <source>", "only from policy, behaviour or integrity")
    .option("--min-score <n>", "only signals scoring at least this", scoreOption)
    .option("--since <dur|iso8601>", "at or after (24h: in the last 24 hours)", instantOrAgoOption)
    .option("--until <dur|iso8601>", "before", instantOrAgoOption)
    .option("--limit <n>", "at most this many", limitOption, 50)
    .option("--json", "one JSON array")
    .action((options: SignalsOptions, command: Command) => {
      const { json, ...filter } = options;
      const rows = withIndex(configFor(command), (index) => index.listSignals(filter));
      process.stdout.write(
        json === true
          ? `${JSON.stringify(rows.map(signalJson), null, 2)}\n`
          : rows.map((row) => `${signalLine(row)}\n`).join(""),
      );
    });
}

function signalLine(row: SignalRow): string {
  return [
    row.time.toISOString(),
    `+${formatScore(row.score)}`.padStart(5),
    `score=${formatScore(row.sessionScore)}`,
    row.user ?? "-",
    row.target ?? "-",
    row.rule,
    row.reason,
    row.session === undefined ? "" : `(${row.session})`,
  ]
    .filter((part) => part !== "")
    .join("  ");
}
