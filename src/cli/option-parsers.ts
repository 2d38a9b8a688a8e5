// Validators for option values, run by commander while parsing: a bad value
// is a usage error (exit 2) with the option's name, before any work starts.

import { InvalidArgumentError } from "commander";
import { parseHostPort } from "../policy/index.js";
import { parseInstant } from "../policy/test-file.js";
import { errorMessage } from "../util/errors.js";
import { parseDuration } from "../util/units.js";

function validated<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError(errorMessage(error));
    }
  };
}

/** "8h", "90m", kept as text (for messages); parse it again with parseDuration. */
export const durationOption = validated((text: string) => {
  parseDuration(text);
  return text;
});

/** "host:port" (port 0 = any free port), kept as text for the config file. */
export const listenOption = validated((text: string) => {
  parseHostPort(text, { allowPortZero: true });
  return text;
});

/** An ISO 8601 instant with its offset, e.g. 2026-11-23T10:00:00+01:00. */
export const instantOption = validated(parseInstant);

/** A TCP port number, 0 for any free port. */
export const portOption = validated((text: string) => {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new RangeError("expected a port number 0-65535");
  return port;
});

/** Units only, no date separators: "24h", "7d", "1h30m". */
const DURATION_SHAPE = /^(\d+[a-z]+)+$/i;

/** A duration ago ("24h", "7d") or an ISO 8601 instant. */
export function instantOrAgoOption(text: string): Date {
  if (!DURATION_SHAPE.test(text)) return instantOption(text);
  return new Date(Date.now() - parseDuration(durationOption(text)));
}

/** A number ≥ 0 (a score threshold). */
export function scoreOption(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError("expected a non-negative number");
  }
  return value;
}

/** A page size: a whole number ≥ 1. */
export function limitOption(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new InvalidArgumentError("expected a positive whole number");
  }
  return Number(text);
}
