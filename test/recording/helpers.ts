// Shared by the recording tests: a private temp directory per test file, a
// strict asciicast v2 parser, and replay through the real asciinema.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

export interface ParsedCast {
  header: Record<string, unknown>;
  events: [number, string, string][];
}

/** A temp directory removed when the test file ends. */
export function tempRoot(name: string): string {
  const root = mkdtempSync(join(tmpdir(), `portcullis-${name}-`));
  after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

/** Every line must be JSON and the file must end with "\n"; times never go back. */
export function parseCast(path: string): ParsedCast {
  const text = readFileSync(path, "utf8");
  assert.ok(text.endsWith("\n"), "file ends with a whole line");
  const [first, ...rest] = text.slice(0, -1).split("\n");
  const header = JSON.parse(first ?? "") as Record<string, unknown>;
  assert.equal(header.version, 2);
  const events = rest.map((line) => JSON.parse(line) as [number, string, string]);
  for (const [index, event] of events.entries()) {
    assert.equal(event.length, 3);
    assert.equal(typeof event[0], "number");
    assert.ok(["o", "i", "r", "m"].includes(event[1]), `event code ${event[1]}`);
    assert.equal(typeof event[2], "string");
    if (index > 0) assert.ok(event[0] >= (events[index - 1]?.[0] ?? 0), "times never go back");
  }
  return { header, events };
}

/** What `asciinema cat` prints for the file (run under `script` for a tty). */
export function asciinemaCat(path: string): string {
  return execFileSync("script", ["-qec", `asciinema cat '${path}'`, "/dev/null"], {
    encoding: "utf8",
    timeout: 30_000,
  });
}

export function outputText(cast: ParsedCast): string {
  return cast.events
    .filter(([, code]) => code === "o")
    .map(([, , data]) => data)
    .join("");
}

/** A clock the test moves by hand, in milliseconds. */
export function manualClock(startMs: number): { now: () => number; advance: (ms: number) => void } {
  let current = startMs;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
  };
}
