// A real local webhook receiver (node:http on 127.0.0.1) for the approvals
// and signal alert webhooks' tests: records each delivery's headers and body,
// answers with given statuses in turn, lets a test wait for deliveries and
// checks their signatures as a receiver would.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { after } from "node:test";
import {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from "../../src/notify/webhook-delivery.js";

interface Delivery {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver answering with `statuses` in turn (then 200); `count(n)` waits for n deliveries. */
export async function receiver(statuses: number[] = []) {
  const deliveries: Delivery[] = [];
  const waiting: (() => void)[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      deliveries.push({ at: performance.now(), headers: request.headers, body });
      response.statusCode = statuses.shift() ?? 200;
      response.end();
      for (const wake of waiting.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => server.close());
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`,
    deliveries,
    async count(n: number, timeoutMs = 5000): Promise<void> {
      const deadline = performance.now() + timeoutMs;
      while (deliveries.length < n) {
        if (performance.now() > deadline)
          throw new Error(`${deliveries.length} of ${n} deliveries`);
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Whether a delivery carries a valid, fresh signature with `secret`. */
export function signedWith(delivery: Delivery, secret: Buffer): boolean {
  return verifyWebhookSignature({
    secret,
    timestamp: String(delivery.headers[TIMESTAMP_HEADER]),
    signature: String(delivery.headers[SIGNATURE_HEADER]),
    body: delivery.body,
    now: new Date(),
  });
}
