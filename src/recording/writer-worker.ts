// Entry point of the recording writer thread: owns one CastFileWriter per
// open recording and routes the main thread's messages to them, so that
// encoding, hashing and writing never run on the thread that moves the
// sessions' bytes.
import { parentPort } from "node:worker_threads";
import { CastFileWriter } from "./cast-file-writer.js";
import type { FromWriter, ToWriter } from "./writer-protocol.js";

const port = parentPort;
if (port === null) throw new Error("writer-worker.js runs only as a worker thread");

const writers = new Map<number, CastFileWriter>();
const report = (message: FromWriter) => port.postMessage(message);

port.on("message", (message: ToWriter) => {
  switch (message.type) {
    case "open":
      writers.set(message.handle, new CastFileWriter(message, report));
      break;
    case "append":
      writers.get(message.handle)?.append(message.batch);
      break;
    case "close": {
      const writer = writers.get(message.handle);
      writers.delete(message.handle);
      void writer?.close();
      break;
    }
  }
});
