// Entry point of a masking detection worker thread (detection-pool.ts
// starts it): answers the main thread's texts with the secrets in them, so
// that scanning bulk output never blocks the bastion's event loop.
import { parentPort } from "node:worker_threads";
import type { ToDetection } from "./detection-protocol.js";
import { DetectionService } from "./detection-service.js";

const port = parentPort;
if (port === null) throw new Error("detection-worker.js runs only as a worker thread");

const service = new DetectionService();
port.on("message", (message: ToDetection) => {
  const reply = service.handle(message);
  if (reply !== undefined) port.postMessage(reply);
});
