// Tests for masking detection off the main thread (src/masking/detection-*.ts
// and their use by the stream masker, channel masking and channel recording):
// small reads never wait for the worker when nothing is in flight; a small
// read after a large one waits behind it (order kept); a worker that dies
// mid-stream ends the stream without passing its unmasked bytes, and the
// pool starts a new worker for later ones; the recording closes only after
// what the maskers held was masked and recorded; idle or terminated worker
// threads never keep the process alive.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { ServerChannel } from "ssh2";
import { DetectionPool } from "../../src/masking/detection-pool.js";
import { detectorsFor, findSecrets } from "../../src/masking/detectors.js";
import {
  type FoundSecret,
  INLINE_DETECTION_BYTES,
  maskingTransform,
  StreamMasker,
} from "../../src/masking/stream-masker.js";
import type { SessionRecording } from "../../src/recording/index.js";
import { maskChannel } from "../../src/ssh/channel-masking.js";
import { recordChannel } from "../../src/ssh/channel-recording.js";

const CARD = "4111 1111 1111 1111";
const MASKED_CARD = "*******************";
const SPECS = [{ name: "credit-card" }];
const DETECTORS = detectorsFor(SPECS.map((spec) => spec.name));
const DYING_WORKER = new URL("./detection-dying-worker.js", import.meta.url);

const pool = new DetectionPool({ size: 1 });
const dyingPool = new DetectionPool({ size: 1, workerUrl: DYING_WORKER });
after(() => Promise.all([pool.terminate(), dyingPool.terminate()]));

/** A large read: `lines` lines of output with a card in the middle one. */
function bulk(lines: number): Buffer {
  const rows = Array.from({ length: lines }, (_, i) => `row ${i} status=ok took ${i % 97} ms`);
  rows[Math.floor(lines / 2)] = `card ${CARD} on file`;
  return Buffer.from(`${rows.join("\r\n")}\r\n`);
}

/** A masker whose large reads go to `findElsewhere`, counting how often it is asked. */
function countingMasker(findElsewhere = pool.finder(SPECS)) {
  const calls = { elsewhere: 0 };
  const masker = new StreamMasker({
    find: (text) => findSecrets(DETECTORS, text),
    findElsewhere: (context, text) => {
      calls.elsewhere++;
      return findElsewhere(context, text);
    },
  });
  return { masker, calls };
}

test("small reads are detected at once on the calling thread when nothing is in flight", async () => {
  assert.ok(
    bulk(200).length > INLINE_DETECTION_BYTES,
    "the large reads here are over the threshold",
  );
  const { masker, calls } = countingMasker();
  for (const key of "ls -la /var/log") {
    const out = masker.push(Buffer.from(key));
    assert.ok(Buffer.isBuffer(out), "no promise: the echo does not wait");
    assert.equal(out.toString(), key);
  }
  const prompt = masker.push(Buffer.from("\r\nbob@web1:~$ a short line of command output\r\n"));
  assert.ok(Buffer.isBuffer(prompt));
  assert.equal(calls.elsewhere, 0, "the worker was never asked");
  const large = masker.push(bulk(200));
  assert.ok(large instanceof Promise, "a large read goes to the worker");
  assert.match((await large).toString(), new RegExp(`card \\*{${MASKED_CARD.length}} on file`));
  assert.equal(calls.elsewhere, 1);
  assert.ok(Buffer.isBuffer(masker.push(Buffer.from("ls\r\n"))), "at once again once idle");
});

test("a small read after a large one waits behind it: the order is kept", async () => {
  const { masker } = countingMasker();
  const order: string[] = [];
  const large = Promise.resolve(masker.push(bulk(300))).then((out) => {
    order.push("large");
    return out;
  });
  const smallResult = masker.push(Buffer.from("x"));
  assert.ok(smallResult instanceof Promise, "it waits behind the large read");
  const small = smallResult.then((out) => {
    order.push("small");
    return out;
  });
  const rest = masker.flush();
  const out = Buffer.concat(await Promise.all([large, small, rest])).toString();
  assert.deepEqual(order, ["large", "small"]);
  assert.equal(out, maskedWhole([bulk(300), Buffer.from("x")]));
});

test("reads detected in the worker give the same output as detected inline, card split across them", async () => {
  const whole = bulk(400);
  const cut = whole.indexOf(CARD) + 7;
  const { masker } = countingMasker();
  const parts = [whole.subarray(0, cut), whole.subarray(cut)].map((chunk) => masker.push(chunk));
  parts.push(masker.flush());
  const out = Buffer.concat(await Promise.all(parts)).toString();
  assert.equal(out, maskedWhole([whole]));
  assert.ok(!out.includes(CARD));
});

/** `chunks` masked inline in one read (the reference). */
function maskedWhole(chunks: readonly Buffer[]): string {
  const masker = new StreamMasker({ find: (text) => findSecrets(DETECTORS, text) });
  const first = masker.push(Buffer.concat(chunks));
  const rest = masker.flush();
  assert.ok(Buffer.isBuffer(first) && Buffer.isBuffer(rest));
  return Buffer.concat([first, rest]).toString();
}

test("a worker that dies mid-stream ends the stream without passing its unmasked bytes", async () => {
  const failures: string[] = [];
  const step = maskingTransform(
    new StreamMasker({
      find: (text) => findSecrets(DETECTORS, text),
      findElsewhere: dyingPool.finder(SPECS),
    }),
    5,
    (error) => failures.push(error instanceof Error ? error.message : String(error)),
  );
  const seen: Buffer[] = [];
  step.on("data", (chunk: Buffer) => seen.push(chunk));
  step.write(bulk(200));
  step.write(Buffer.concat([Buffer.from(`POISON ${CARD} `), bulk(200)]));
  step.write(Buffer.from("after\r\n"));
  step.end(bulk(100));
  await waitUntil(() => failures.length > 0);
  await new Promise((wake) => setTimeout(wake, 50));
  const shown = Buffer.concat(seen).toString();
  assert.equal(failures.length, 1, "reported once");
  assert.match(
    failures[0] ?? "",
    /^masking failed: the detection thread stopped \(exited with code 3\)$/,
  );
  assert.ok(shown.length > 0, "what was masked before the death went out");
  assert.ok(!shown.includes("POISON") && !shown.includes(CARD) && !shown.includes("after"));
  assert.equal(step.readableEnded, false, "the stream does not end as if all was passed");
  step.destroy();

  const later = new StreamMasker({
    find: (text) => findSecrets(DETECTORS, text),
    findElsewhere: dyingPool.finder(SPECS),
  });
  const out = await later.push(bulk(200));
  assert.ok(!out.toString().includes(CARD), "a new worker serves later streams");
  assert.equal(dyingPool.running, 1);
});

test("a channel whose detection thread dies reports the failure once and passes nothing more", async () => {
  const failed: string[] = [];
  const masking = maskChannel(
    { mask: SPECS, mask_input: [], mask_recording_only: false },
    { audit: () => undefined, marker: () => undefined, failed: (reason) => failed.push(reason) },
    dyingPool,
  );
  const stdout = masking?.output();
  const stderr = masking?.output();
  assert.ok(stdout && stderr);
  const seen: Buffer[] = [];
  for (const step of [stdout, stderr]) step.on("data", (chunk: Buffer) => seen.push(chunk));
  stdout.write(Buffer.concat([Buffer.from(`POISON ${CARD} `), bulk(300)]));
  stderr.write(Buffer.concat([Buffer.from(`POISON ${CARD} `), bulk(300)]));
  await waitUntil(() => failed.length > 0);
  await new Promise((wake) => setTimeout(wake, 50));
  assert.equal(failed.length, 1);
  assert.ok(!Buffer.concat(seen).toString().includes(CARD));
  stdout.destroy();
  stderr.destroy();
});

test("the recording closes only after what the masking taps held was masked and recorded", async () => {
  const masking = maskChannel(
    { mask: SPECS, mask_input: [], mask_recording_only: true },
    { audit: () => undefined, marker: () => undefined, failed: assert.fail },
    pool,
  );
  const { channel, recording, events } = fakeChannelAndRecording();
  recordChannel(channel, recording, {
    recordInput: false,
    failed: assert.fail,
    ...(masking ? { masking } : {}),
  });
  channel.write(bulk(500));
  const tail = Buffer.from(`the last line ends in ${CARD.slice(0, 9)}`); // held: a card's start
  channel.write(tail);
  channel.emit("close");
  await waitUntil(() => events.includes("close"));
  const recorded = events.slice(0, -1).join("");
  assert.equal(events.at(-1), "close");
  assert.equal(recorded, maskedWhole([bulk(500), tail]));
  assert.ok(recorded.endsWith("ends in 4111 1111"), "the held tail was recorded before the close");
});

/** A channel whose writes the recorder taps, and a recording that logs what it gets. */
function fakeChannelAndRecording() {
  const events: string[] = [];
  const writable = () => Object.assign(new EventEmitter(), { write: () => true });
  const channel = Object.assign(writable(), { stderr: writable() }) as unknown as ServerChannel;
  const recording = {
    relativePath: "test.cast",
    output: (data: Buffer) => events.push(data.toString()),
    input: () => undefined,
    resize: () => undefined,
    marker: () => undefined,
    close: async () => {
      events.push("close");
      return { relativePath: "test.cast", sha256: "", bytes: 0 };
    },
    onFailure: () => undefined,
    backlog: 0,
    whenBelow: async () => undefined,
  } satisfies SessionRecording;
  return { channel, recording, events };
}

test("idle detection threads do not keep the process alive; terminate stops them", async () => {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-detection-"));
  const script = join(dir, "idle-pool.mjs");
  const poolModule = new URL("../../src/masking/detection-pool.js", import.meta.url).href;
  writeFileSync(
    script,
    `import { DetectionPool } from ${JSON.stringify(poolModule)};
    const pool = new DetectionPool({ size: 1 });
    const found = await pool.finder([{ name: "credit-card" }])("", Buffer.from("x ${CARD} y"));
    console.log(JSON.stringify(found));`,
  );
  const child = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 20_000 });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), [{ start: 2, end: 21, detector: "credit-card" }]);

  const local = new DetectionPool({ size: 2 });
  const find = local.finder(SPECS);
  await Promise.all([find("", Buffer.from(CARD)), find("", Buffer.from(CARD))]);
  assert.equal(local.running, 2, "a second thread starts while the first is busy");
  await local.terminate();
  assert.equal(local.running, 0);
  await assert.rejects(find("", Buffer.from(CARD)), /masking failed: the bastion is shutting down/);
});

test("a detection that fails in the worker rejects (the stream fails closed)", async () => {
  const broken = pool.finder([{ name: "no-such-detector" }]);
  await assert.rejects(
    broken("", Buffer.from(CARD)),
    /masking failed: detection failed: .*no-such-detector/,
  );
  const found: FoundSecret[] = await pool.finder(SPECS)("", Buffer.from(CARD));
  assert.equal(found.length, 1, "the worker goes on serving other streams");
});

async function waitUntil(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail("timed out");
    await new Promise((wake) => setTimeout(wake, 5));
  }
}
