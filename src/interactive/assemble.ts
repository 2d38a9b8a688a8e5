// Putting an interactive command together from the lines the shell accepts
// (SPEC §5.5): the shell gates each physical line, but runs a construct that
// spans lines (`\` continuation, open quotes, `if … fi`, heredocs) only when
// it is complete, and runs every complete command before a trailing
// incomplete one as soon as its newline is read. So the text to decide now is
// the longest prefix, ending at a line break, that parses complete; the rest
// waits for more lines.

import { extractCommands } from "../policy/index.js";

export type AssemblyStep =
  /** Decide `text` now; `pending` stays incomplete (empty when nothing does). */
  | { kind: "decide"; text: string; pending: string }
  /** Nothing runs yet: the whole text so far is incomplete. */
  | { kind: "continue"; pending: string };

/** `pending` is what earlier lines left incomplete since the last primary prompt. */
export function assembleLine(pending: string, line: string): AssemblyStep {
  const text = pending === "" ? line : `${pending}\n${line}`;
  if (isComplete(text)) return { kind: "decide", text, pending: "" };
  for (let end = text.lastIndexOf("\n"); end > 0; end = text.lastIndexOf("\n", end - 1)) {
    const prefix = text.slice(0, end);
    if (isComplete(prefix)) return { kind: "decide", text: prefix, pending: text.slice(end + 1) };
  }
  return { kind: "continue", pending: text };
}

function isComplete(text: string): boolean {
  return extractCommands(text).status !== "incomplete";
}
