// The messages between a bastion's maskers (main thread) and a detection
// worker (docs/masking.md "Streaming"): a set of detectors crosses once, as
// names and custom regex sources, under a key; then each text to scan
// crosses as latin1 bytes (transferred, not copied) with the plain-text
// context before it, and the worker answers with the matches.

import type { MaskSpec } from "../policy/types.js";
import type { SecretMatch } from "./detectors.js";

/** A detector as it crosses threads: a built-in name, or a custom one with its regex. */
export interface WireDetector {
  readonly name: string;
  readonly source?: string;
  readonly flags?: string;
}

export type ToDetection =
  | {
      readonly type: "detectors";
      readonly key: string;
      readonly detectors: readonly WireDetector[];
    }
  | {
      readonly type: "find";
      readonly id: number;
      readonly key: string;
      /** Plain text already sent, scanned before `text`: offsets count from its start. */
      readonly context: string;
      /** The plain text to scan, one byte per character (latin1). */
      readonly text: Uint8Array;
    };

export type FromDetection =
  | { readonly type: "found"; readonly id: number; readonly matches: readonly SecretMatch[] }
  | { readonly type: "failed"; readonly id: number; readonly message: string };

export function wireDetectors(specs: readonly MaskSpec[]): WireDetector[] {
  return specs.map(({ name, regex }) =>
    regex === undefined ? { name } : { name, source: regex.source, flags: regex.flags },
  );
}

export function maskSpecs(detectors: readonly WireDetector[]): MaskSpec[] {
  return detectors.map(({ name, source, flags }) =>
    source === undefined ? { name } : { name, regex: new RegExp(source, flags) },
  );
}

/** The key one set of detectors is known by on both sides. */
export function detectorsKey(detectors: readonly WireDetector[]): string {
  return JSON.stringify(detectors);
}
