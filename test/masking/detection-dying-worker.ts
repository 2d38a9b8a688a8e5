// A detection worker for tests: the real one, except that a text containing
// POISON makes the thread exit (code 3) before it answers, as a crash would.
import { Buffer } from "node:buffer";
import { parentPort } from "node:worker_threads";
import type { ToDetection } from "../../src/masking/detection-protocol.js";
import { DetectionService } from "../../src/masking/detection-service.js";

const port = parentPort;
if (port === null) throw new Error("runs only as a worker thread");

const service = new DetectionService();
port.on("message", (message: ToDetection) => {
  if (message.type === "find" && Buffer.from(message.text).includes("POISON")) process.exit(3);
  const reply = service.handle(message);
  if (reply !== undefined) port.postMessage(reply);
});
