// Masking one channel (issue 8, docs/masking.md): the access entry's `mask:`
// detectors on the target's stdout and stderr, and its `mask_input:`
// detectors on the input the recording keeps. Output is masked on the way
// to the user (and so the recording, which records what the channel sends),
// or, with `masking: {recording_only: true}`, only on the way to the
// recording. Input is masked a whole line at a time (keystrokes arrive one by
// one; only the recording sees the result), and so is each command line as
// the audit and the recording's markers keep it. Each masked secret is counted per
// detector; the counts are audited as `mask` events (detector and count,
// never the secret) and marked in the recording, at most once a second and
// when a masked stream ends. Detection of large reads runs in the bastion's
// detection threads (src/masking/detection-pool.ts); when it fails, the
// channel passes nothing more and the caller ends it (fail closed).

import type { Transform } from "node:stream";
import type { DetectionPool } from "../masking/detection-pool.js";
import { type Detector, detectorsFor, findSecrets } from "../masking/detectors.js";
import {
  type MaskingTap,
  maskingTap,
  maskingTransform,
  maskText,
  StreamMasker,
} from "../masking/stream-masker.js";
import type { AccessEntry, MaskSpec } from "../policy/index.js";
import { errorMessage } from "../util/errors.js";

/** How long output that may be the start of a secret waits for the rest. */
const OUTPUT_HOLD_MS = 5;
/** How long an unfinished line of typed input waits for its end before it is recorded as it is. */
const INPUT_HOLD_MS = 1000;
const REPORT_EVERY_MS = 1000;

export interface MaskingHooks {
  /** A `mask` audit event. */
  audit(fields: { detector: string; count: number }): void;
  /** A marker in the channel's recording. */
  marker(label: string): void;
  /** Masking failed (a detection thread died): nothing more passes; end the channel. Called once. */
  failed(reason: string): void;
}

type Sink = (data: Buffer) => void;

export interface ChannelMasking {
  /** Output is masked on the way to the user; false: only on the way to the recording. */
  readonly onChannel: boolean;
  /** A masking step for one output stream (stdout, stderr); undefined when `mask:` is empty. */
  output(): Transform | undefined;
  /** The same, as a tap in front of the recording. */
  recordedOutput(record: Sink): MaskingTap | undefined;
  /** A tap in front of the recorded input; undefined when `mask_input:` is empty. */
  recordedInput(record: Sink): MaskingTap | undefined;
  /** A command line as audited and marked in the recording: masked by `mask_input:` (not counted again). */
  keptLine(line: string): string;
}

type MaskingSettings = Pick<AccessEntry, "mask" | "mask_input" | "mask_recording_only">;

/** Masking for a channel, or undefined when the entry masks nothing. */
export function maskChannel(
  entry: MaskingSettings | undefined,
  hooks: MaskingHooks,
  detection?: DetectionPool,
): ChannelMasking | undefined {
  if (entry === undefined || (entry.mask.length === 0 && entry.mask_input.length === 0))
    return undefined;
  const counts = new DetectorCounts(hooks);
  const input = detectorsFor(entry.mask_input);
  const maskers = {
    output: maskerFactory(entry.mask, false, counts, detection),
    input: maskerFactory(entry.mask_input, true, counts, detection),
  };
  let failedOnce = false;
  const failed = (error: unknown) => {
    if (failedOnce) return;
    failedOnce = true;
    hooks.failed(errorMessage(error));
  };
  const tap = (masker: StreamMasker | undefined, holdMs: number, record: Sink) =>
    masker && reportingAtEnd(maskingTap(masker, { holdMs, emit: record, failed }), counts);
  return {
    onChannel: !entry.mask_recording_only,
    output: () => {
      const masker = maskers.output();
      if (masker === undefined) return undefined;
      const step = maskingTransform(masker, OUTPUT_HOLD_MS, failed);
      step.once("close", () => counts.report());
      return step;
    },
    recordedOutput: (record) => tap(maskers.output(), OUTPUT_HOLD_MS, record),
    recordedInput: (record) => tap(maskers.input(), INPUT_HOLD_MS, record),
    keptLine: (line) => maskText(line, findSecrets(input, line)),
  };
}

/** A new masker per stream with `specs`; undefined when there are none. */
function maskerFactory(
  specs: readonly MaskSpec[],
  wholeLines: boolean,
  counts: DetectorCounts,
  detection: DetectionPool | undefined,
): () => StreamMasker | undefined {
  const detectors: readonly Detector[] = detectorsFor(specs);
  if (detectors.length === 0) return () => undefined;
  const findElsewhere = detection?.finder(specs);
  return () =>
    new StreamMasker({
      find: (text) => findSecrets(detectors, text),
      ...(findElsewhere ? { findElsewhere } : {}),
      masked: (detector) => counts.add(detector),
      wholeLines,
    });
}

function reportingAtEnd(tap: MaskingTap, counts: DetectorCounts): MaskingTap {
  return {
    write: (data) => tap.write(data),
    end: () => tap.end().then(() => counts.report()),
  };
}

/** Masked secrets per detector since the last report; reported at most once a second. */
class DetectorCounts {
  private readonly counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly hooks: MaskingHooks) {}

  add(detector: string): void {
    this.counts.set(detector, (this.counts.get(detector) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.report(), REPORT_EVERY_MS);
  }

  report(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [detector, count] of this.counts) {
      this.hooks.audit({ detector, count });
      this.hooks.marker(`mask: ${detector} ×${count}`);
    }
    this.counts.clear();
  }
}
