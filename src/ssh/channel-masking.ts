// Masking one channel's output (issue 8): the access entry's `mask:`
// detectors on the target's stdout and stderr, applied before the user sees
// it and so before the recording (which records what the channel sends).
// Each masked secret is counted per detector; the counts are audited as
// `mask` events (detector and count, never the secret) and marked in the
// recording, at most once a second and when the channel ends.

import type { Transform } from "node:stream";
import { detectorsFor, findSecrets } from "../masking/detectors.js";
import { maskingTransform, StreamMasker } from "../masking/stream-masker.js";
import type { MaskSpec } from "../policy/index.js";

/** How long output that may be the start of a secret waits for the rest. */
const HOLD_MS = 5;
const REPORT_EVERY_MS = 1000;

export interface MaskingHooks {
  /** A `mask` audit event. */
  audit(fields: { detector: string; count: number }): void;
  /** A marker in the channel's recording. */
  marker(label: string): void;
}

export interface ChannelMasking {
  readonly stdout: Transform;
  readonly stderr: Transform;
}

/** Masking steps for a channel, or undefined when the entry masks nothing. */
export function maskChannel(
  specs: readonly MaskSpec[],
  hooks: MaskingHooks,
): ChannelMasking | undefined {
  if (specs.length === 0) return undefined;
  const detectors = detectorsFor(specs);
  const counts = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const report = () => {
    timer = undefined;
    for (const [detector, count] of counts) {
      hooks.audit({ detector, count });
      hooks.marker(`mask: ${detector} ×${count}`);
    }
    counts.clear();
  };
  const masked = (detector: string) => {
    counts.set(detector, (counts.get(detector) ?? 0) + 1);
    timer ??= setTimeout(report, REPORT_EVERY_MS);
  };
  const step = () => {
    const masker = new StreamMasker({ find: (text) => findSecrets(detectors, text), masked });
    const transform = maskingTransform(masker, HOLD_MS);
    transform.once("close", () => {
      clearTimeout(timer);
      report();
    });
    return transform;
  };
  return { stdout: step(), stderr: step() };
}
