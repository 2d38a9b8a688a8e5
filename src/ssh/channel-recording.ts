// Recording one session channel as the user saw it (SPEC §7): every byte the
// bastion writes to the channel's stdout and stderr (the target's output after
// the command gate, and the bastion's own messages), window changes, a marker
// per decided command line, and input only when the policy asks for it and the
// terminal is known to echo it. With masking, recorded input is masked (the
// entry's `mask_input:`) and, when only the recording is masked, so is the
// output it keeps (the user's own screen is not). A recording that fails ends
// the channel with a message unless recordings are best effort.

import { Transform, type TransformCallback, type Writable } from "node:stream";
import type { ServerChannel } from "ssh2";
import type { MaskingTap } from "../masking/stream-masker.js";
import type { LineVerdict } from "../policy/command-types.js";
import type { SessionRecording } from "../recording/index.js";
import { errorMessage } from "../util/errors.js";
import type { ChannelMasking } from "./channel-masking.js";

/** What an `i` event holds when input may be a secret (typed while nothing shows it). */
export const HIDDEN_INPUT = "[input not recorded]";

export interface ChannelRecorder {
  /** Whether input is recorded at all (the access entry's or the config's `record_input`). */
  readonly recordsInput: boolean;
  marker(label: string): void;
  resize(cols: number, rows: number): void;
  /** Input from the user; `shown` when the terminal is known to echo it (the shell's prompt). */
  input(data: Buffer, shown: boolean): void;
  /** A pass-through for the target's output that holds it while the recording's disk backlog is high. */
  pacing(): Transform;
  /** From now on the channel's output is not recorded (file contents of a transfer); markers still are. */
  omitOutput(): void;
}

/** Output waits above this many unwritten recording bytes, until the backlog is under the low mark. */
export const BACKLOG_HIGH = 2 * 2 ** 20;
export const BACKLOG_LOW = 512 * 2 ** 10;

type Sink = (data: Buffer) => void;

export interface RecorderOptions {
  recordInput: boolean;
  /** Called once when the recording cannot be written. */
  failed(reason: string): void;
  masking?: ChannelMasking;
}

export function recordChannel(
  channel: ServerChannel,
  recording: SessionRecording,
  options: RecorderOptions,
): ChannelRecorder {
  const { masking } = options;
  const taps: MaskingTap[] = [];
  /** `record`, or the masking tap in front of it. */
  const through = (tap: MaskingTap | undefined, record: Sink): Sink => {
    if (tap === undefined) return record;
    taps.push(tap);
    return (data) => void tap.write(data);
  };
  let outputRecorded = true;
  const recordOutput: Sink = (data) => {
    if (outputRecorded) recording.output(data);
  };
  const outputTap = () =>
    masking?.onChannel === false ? masking.recordedOutput(recordOutput) : undefined;
  tapWrites(channel, through(outputTap(), recordOutput));
  tapWrites(channel.stderr, through(outputTap(), recordOutput));
  const recordInput: Sink = (data) => recording.input(data);
  const recordShownInput = through(masking?.recordedInput(recordInput), recordInput);
  recording.onFailure((error) => options.failed(`recording failed: ${errorMessage(error)}`));
  channel.once("close", () => {
    // What the maskers hold (or are still detecting) is recorded before the recording closes.
    void Promise.all(taps.map((tap) => tap.end())).then(
      () => recording.close().catch(() => undefined), // a failure was already reported through onFailure
    );
  });
  return {
    recordsInput: options.recordInput,
    omitOutput: () => {
      outputRecorded = false;
    },
    marker: (label) => recording.marker(label),
    resize: (cols, rows) => recording.resize(cols, rows),
    input: (data, shown) => {
      if (!options.recordInput) return;
      if (shown) recordShownInput(data);
      else recording.input(HIDDEN_INPUT);
    },
    pacing: () =>
      new Transform({
        transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
          if (recording.backlog <= BACKLOG_HIGH) return done(null, chunk);
          recording.whenBelow(BACKLOG_LOW).then(() => done(null, chunk));
        },
      }),
  };
}

/** The marker for a decided command line: `deny: rm -rf / (baseline#1)`. */
export function commandMarker(line: string, verdict: LineVerdict): string {
  const rule =
    verdict.decision === "allow" || verdict.rule === undefined ? "" : ` (${verdict.rule})`;
  return `${verdict.decision}: ${line}${rule}`;
}

/** Calls `onData` with every chunk written to `stream`, before it is written. */
function tapWrites(stream: Writable, onData: (data: Buffer) => void): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === "string" || Buffer.isBuffer(chunk)) {
      const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      if (data.length > 0) onData(data);
    }
    return write(chunk, ...rest);
  }) as Writable["write"];
}
