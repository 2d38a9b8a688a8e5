// asciicast v2 lines: the header object and one event array per line
// (`[seconds, code, data]`), each terminated by "\n", built as bytes. Pure
// functions only.
import { jsonStringBytes } from "./json-text.js";
import type { CastHeader } from "./types.js";

export type EventCode = "o" | "i" | "r" | "m";

export const INTERRUPTED_MARKER = "interrupted";

export function headerLine(header: CastHeader): string {
  const env = header.term === undefined ? {} : { TERM: header.term };
  const fields = {
    version: 2,
    width: header.width,
    height: header.height,
    timestamp: Math.floor(header.startedAt.getTime() / 1000),
    env,
    title: header.title,
  };
  return `${JSON.stringify(fields)}\n`;
}

/** What an event line ends with, after its JSON string literal. */
export const LINE_END = Buffer.from("]\n");

/** What an event line starts with, before its literal; `seconds` has 6 decimals, as asciinema writes. */
export function eventPrefix(seconds: number, code: EventCode): string {
  return `[${seconds.toFixed(6)}, "${code}", `;
}

/** One event line around a JSON string literal. */
export function eventBytes(seconds: number, code: EventCode, literal: Buffer): Buffer {
  return Buffer.concat([Buffer.from(eventPrefix(seconds, code)), literal, LINE_END]);
}

export function textEventBytes(seconds: number, code: EventCode, text: string): Buffer {
  return eventBytes(seconds, code, jsonStringBytes(Buffer.from(text)));
}

export function resizeData(cols: number, rows: number): string {
  return `${cols}x${rows}`;
}

export type ParsedLine =
  | { kind: "header" }
  | { kind: "event"; seconds: number; code: string; data: string }
  | { kind: "invalid" };

/** Classifies one line (without its "\n") of a v2 file. */
export function parseLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "invalid" };
  }
  if (isHeader(value)) return { kind: "header" };
  if (Array.isArray(value) && value.length === 3) {
    const [seconds, code, data] = value as unknown[];
    if (typeof seconds === "number" && typeof code === "string" && typeof data === "string")
      return { kind: "event", seconds, code, data };
  }
  return { kind: "invalid" };
}

function isHeader(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    (value as { version?: unknown }).version === 2
  );
}
