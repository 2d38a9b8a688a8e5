// Human-friendly units used in portcullis.yaml and policies: durations
// ("90s", "1h30m") parsed to milliseconds and sizes ("100MB", "1GiB") parsed
// to bytes, plus zod schemas that validate and transform them.
import { parsedString } from "./yaml-source.js";

const DURATION_UNITS_MS: ReadonlyMap<string, number> = new Map([
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
  ["ms", 1],
]);
const DURATION_PART = /(\d+)(ms|d|h|m|s)/y;
const DURATION_HINT = "expected a duration such as 500ms, 90s, 10m, 8h or 1h30m";

/** Size units are case-insensitive; KB/MB/GB/TB are decimal, KiB/MiB/GiB/TiB binary. */
const SIZE_UNITS: ReadonlyMap<string, number> = new Map([
  ["b", 1],
  ["kb", 1e3],
  ["mb", 1e6],
  ["gb", 1e9],
  ["tb", 1e12],
  ["kib", 2 ** 10],
  ["mib", 2 ** 20],
  ["gib", 2 ** 30],
  ["tib", 2 ** 40],
]);
const SIZE_PATTERN = /^(\d+)\s*([a-z]+)$/i;
const SIZE_HINT = "expected a size such as 10B, 512KB, 100MB or 1GiB";

/**
 * Parses a duration made of integer parts with units d, h, m, s, ms, largest
 * unit first and each unit at most once ("1h30m", "500ms"). Returns milliseconds.
 */
export function parseDuration(text: string): number {
  let total = 0;
  let position = 0;
  let previousUnitMs = Number.POSITIVE_INFINITY;
  while (position < text.length) {
    DURATION_PART.lastIndex = position;
    const match = DURATION_PART.exec(text);
    const unitMs = match?.[2] === undefined ? undefined : DURATION_UNITS_MS.get(match[2]);
    if (match === null || unitMs === undefined || unitMs >= previousUnitMs) {
      throw new RangeError(`invalid duration ${JSON.stringify(text)}: ${DURATION_HINT}`);
    }
    total += Number(match[1]) * unitMs;
    previousUnitMs = unitMs;
    position = DURATION_PART.lastIndex;
  }
  if (position === 0 || !Number.isSafeInteger(total)) {
    throw new RangeError(`invalid duration ${JSON.stringify(text)}: ${DURATION_HINT}`);
  }
  return total;
}

/** Parses a size such as "100MB" or "1GiB" (a bare unit-less number is refused). Returns bytes. */
export function parseSize(text: string): number {
  const match = SIZE_PATTERN.exec(text.trim());
  const multiplier = match?.[2] === undefined ? undefined : SIZE_UNITS.get(match[2].toLowerCase());
  const bytes =
    match === null || multiplier === undefined ? Number.NaN : Number(match[1]) * multiplier;
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(`invalid size ${JSON.stringify(text)}: ${SIZE_HINT}`);
  }
  return bytes;
}

/** A duration string in YAML, parsed to milliseconds. */
export const durationSchema = parsedString(parseDuration, DURATION_HINT);

/** A size string in YAML, parsed to bytes. */
export const sizeSchema = parsedString(parseSize, SIZE_HINT);
