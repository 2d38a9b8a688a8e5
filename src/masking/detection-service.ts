// The worker's side of detection: builds each set of detectors once (by its
// key) and answers each text with every match in it (findSecrets), or with
// why it could not (a detection error is reported, never swallowed: the
// main thread fails the stream closed).
import { Buffer } from "node:buffer";
import { errorMessage } from "../util/errors.js";
import type { FromDetection, ToDetection } from "./detection-protocol.js";
import { maskSpecs } from "./detection-protocol.js";
import { type Detector, detectorsFor, findSecrets } from "./detectors.js";

export class DetectionService {
  /** The detectors of each key, or why they could not be built. */
  private readonly sets = new Map<string, Detector[] | Error>();

  /** The answer to `message` (none for a set of detectors). */
  handle(message: ToDetection): FromDetection | undefined {
    if (message.type === "detectors") {
      this.sets.set(
        message.key,
        build(() => detectorsFor(maskSpecs(message.detectors))),
      );
      return undefined;
    }
    const { id, key, context, text } = message;
    const detectors = this.sets.get(key);
    if (detectors === undefined) return { type: "failed", id, message: "unknown set of detectors" };
    if (detectors instanceof Error) return { type: "failed", id, message: detectors.message };
    try {
      const plain = Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString("latin1");
      return { type: "found", id, matches: findSecrets(detectors, context + plain) };
    } catch (error) {
      return { type: "failed", id, message: errorMessage(error) };
    }
  }
}

function build(make: () => Detector[]): Detector[] | Error {
  try {
    return make();
  } catch (error) {
    return new Error(errorMessage(error));
  }
}
