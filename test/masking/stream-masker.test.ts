// Tests for src/masking/stream-masker.ts with a plain regex finder (the real
// detectors have their own tests): secrets are masked however the stream is
// split, through escape sequences, with the layout kept; small reads pass at
// once; nothing is lost or duplicated; the same with detection in a worker
// thread (the same regex as a custom detector) for reads over a threshold.
import assert from "node:assert/strict";
import { connect, createServer } from "node:net";
import { after, test } from "node:test";
import fc from "fast-check";
import { DetectionPool } from "../../src/masking/detection-pool.js";
import { detectorsFor, findSecrets } from "../../src/masking/detectors.js";
import {
  type FoundSecret,
  maskingTap,
  maskingTransform,
  maskText,
  StreamMasker,
  type StreamMaskerOptions,
} from "../../src/masking/stream-masker.js";
import { BEGIN_KEY, END_KEY } from "./pem-text.js";

const SECRET = /SECRET-[A-Z0-9]{8}/g;
const pool = new DetectionPool({ size: 1 });
after(() => pool.terminate());

/** Detection of reads with more than 32 bytes of text in the worker. */
const inWorker: Partial<StreamMaskerOptions> = {
  findElsewhere: pool.finder([{ name: "test", regex: new RegExp(SECRET.source) }]),
  inlineBytes: 32,
};
const noFailure = (error: unknown) => assert.fail(`masking failed: ${String(error)}`);

function find(text: string): FoundSecret[] {
  return [...text.matchAll(SECRET)].map((match) => ({
    start: match.index,
    end: match.index + match[0].length,
    detector: "test",
  }));
}

/** Feeds `chunks` (without waiting between them) and flushes; the whole output and the masked count. */
async function run(
  chunks: readonly Buffer[],
  options: Partial<StreamMaskerOptions> = {},
): Promise<{ out: string; masked: number }> {
  let masked = 0;
  const masker = new StreamMasker({ find, masked: () => masked++, ...options });
  const parts = chunks.map((chunk) => masker.push(chunk));
  parts.push(masker.flush());
  return { out: Buffer.concat(await Promise.all(parts)).toString("utf8"), masked };
}

/** The bytes of a step that must have been done at once (no detection elsewhere). */
function now(result: Buffer | Promise<Buffer>): Buffer {
  assert.ok(Buffer.isBuffer(result), "done at once, not waiting for a worker");
  return result;
}

const COLOUR = new RegExp(`${"\x1b"}\\[[0-9;]*m`, "g");
const plain = (text: string) => text.replace(COLOUR, "");

test("a secret in one read is masked, same width, the rest untouched", async () => {
  const { out, masked } = await run([Buffer.from("token: SECRET-ABCD1234 ok\r\n")]);
  assert.equal(out, "token: *************** ok\r\n");
  assert.equal(masked, 1);
});

test("a secret split across reads is masked whole", async () => {
  const { out } = await run(
    ["the value is SECRET-AB", "CD1234 and more text here\r\n"].map((s) => Buffer.from(s)),
  );
  assert.equal(out, "the value is *************** and more text here\r\n");
});

test("escape sequences inside a secret (grep --color) are kept and do not hide it", async () => {
  const coloured = "x \x1b[01;31mSECRET\x1b[m-ABCD1234 y\r\n";
  const { out } = await run([Buffer.from(coloured)]);
  assert.equal(out, "x \x1b[01;31m******\x1b[m********* y\r\n");
});

test("an escape sequence or a UTF-8 character cut between reads is never split", async () => {
  const text = "é \x1b[31mred\x1b[0m ü\r\n";
  const bytes = Buffer.from(text);
  for (let cut = 1; cut < bytes.length; cut++) {
    const { out } = await run([bytes.subarray(0, cut), bytes.subarray(cut)]);
    assert.equal(out, text);
  }
});

test("small reads (typed echo) pass at once, nothing held", () => {
  const masker = new StreamMasker({ find });
  for (const key of "ls -la") {
    assert.equal(now(masker.push(Buffer.from(key))).toString(), key);
    assert.equal(masker.holding, false);
  }
});

test("a large read holds back only a trailing word, until the next read or a flush", () => {
  const masker = new StreamMasker({ find });
  const first = now(masker.push(Buffer.from(`${"line of output\r\n".repeat(4)}partial`)));
  assert.equal(first.toString(), "line of output\r\n".repeat(4));
  assert.equal(masker.holding, true);
  assert.equal(now(masker.flush()).toString(), "partial");
});

test("a large read ending in number groups (a card's first half) holds them for the rest", () => {
  const cardFinder = (text: string): FoundSecret[] =>
    [...text.matchAll(/4111 1111 1111 1111/g)].map((match) => ({
      start: match.index,
      end: match.index + match[0].length,
      detector: "card",
    }));
  const masker = new StreamMasker({ find: cardFinder });
  const first = now(masker.push(Buffer.from(`${"x".repeat(20)} card: 4111 1111 `)));
  assert.equal(first.toString(), `${"x".repeat(20)} card:`);
  const rest = now(masker.push(Buffer.from("1111 1111 ok\r\n")));
  assert.equal(rest.toString(), " ******************* ok\r\n");
  const logs = now(masker.push(Buffer.from("status=200 took 12 ms\r\n")));
  assert.equal(logs.toString(), "status=200 took 12 ms\r\n", "a line's end is never held");
});

test("a known limit: a secret's start in a small read (≤ 16 bytes) has already been sent", async () => {
  const { out } = await run(["SECRET-AB", "CD1234 and more text\r\n"].map((s) => Buffer.from(s)));
  assert.equal(out, "SECRET-AB****** and more text\r\n");
});

/** Random pieces cut into reads of more than 16 bytes give the same output as the whole, each secret counted once. */
async function checkAnySplit(options: Partial<StreamMaskerOptions>): Promise<void> {
  const piece = fc.oneof(
    fc.constantFrom("SECRET-ABCD1234", "SECRET-ZZ99ZZ99", "\x1b[1m", "\x1b[0m", "\r\n", " ", "é"),
    fc.string({ unit: "grapheme-ascii", maxLength: 12 }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(piece, { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      async (pieces, cuts) => {
        const whole = Buffer.from(pieces.join(""));
        const points = [...new Set(cuts.map((cut) => cut % (whole.length + 1)))]
          .sort((a, b) => a - b)
          .filter((point, i, all) => point - (all[i - 1] ?? 0) > 16);
        const chunks = [0, ...points].map((start, i) =>
          whole.subarray(start, points[i] ?? whole.length),
        );
        const { out, masked } = await run(chunks, options);
        const expected = await run([whole]);
        assert.equal(plain(out).length, plain(whole.toString()).length, "same width");
        assert.doesNotMatch(plain(out), SECRET);
        assert.equal(out, expected.out, "the split does not change the result");
        assert.equal(masked, expected.masked);
      },
    ),
    { numRuns: 1000 },
  );
}

test("any split into reads of more than 16 bytes: output = masked input, each secret counted once", () =>
  checkAnySplit({}));

test("the same with reads over 32 bytes detected in a worker thread", () =>
  checkAnySplit(inWorker));

test("as a stream step: a held tail goes out after holdMs without more data, the rest at the end", async () => {
  const step = maskingTransform(new StreamMasker({ find }), 20, noFailure);
  const seen: string[] = [];
  step.on("data", (chunk: Buffer) => seen.push(chunk.toString()));
  step.write(Buffer.from(`${"output line\r\n".repeat(3)}SECRET-ABCD`));
  await new Promise((wake) => setImmediate(wake));
  assert.deepEqual(seen, ["output line\r\n".repeat(3)]);
  await new Promise((wake) => setTimeout(wake, 60));
  assert.deepEqual(
    seen.slice(1),
    ["SECRET-ABCD"],
    "a partial secret is sent as it is after the wait",
  );
  step.end(Buffer.from(" then SECRET-ABCD1234"));
  await new Promise((wake) => step.once("end", wake));
  assert.equal(seen.slice(2).join(""), " then ***************");
});

test("a private key block sent before its END (the hold timed out) is masked to its END", () => {
  const detectors = detectorsFor(["private-key"]);
  const masker = new StreamMasker({ find: (text) => findSecrets(detectors, text) });
  const body = `${"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=".repeat(40)}\n`;
  const first = now(masker.push(Buffer.from(`key:\n${BEGIN_KEY}\n${body}`)));
  const timedOut = now(masker.flush());
  const rest = now(masker.push(Buffer.from(`${body}${END_KEY}\nafter the key\n`)));
  const shown = Buffer.concat([first, timedOut, rest, now(masker.flush())]).toString();
  assert.ok(!shown.includes("QUJD"), shown.slice(0, 200));
  assert.match(shown, /^key:\n\*+\n\*+\n\*+\n\*+\nafter the key\n$/);
});

test("typed input (wholeLines): keystrokes one by one are held to the line's end, then masked whole", () => {
  const masker = new StreamMasker({ find, wholeLines: true });
  const sent: Buffer[] = [];
  for (const key of "echo SECRET-ABCD1234") sent.push(now(masker.push(Buffer.from(key))));
  assert.equal(Buffer.concat(sent).toString(), "", "nothing before Enter");
  sent.push(now(masker.push(Buffer.from("\r"))));
  sent.push(now(masker.push(Buffer.from("ls"))));
  assert.equal(Buffer.concat(sent).toString(), "echo ***************\r");
  assert.equal(now(masker.flush()).toString(), "ls");
});

test("a tap ends by sending what it holds; held bytes also go out after holdMs", async () => {
  const got: string[] = [];
  const tap = maskingTap(new StreamMasker({ find, wholeLines: true }), {
    holdMs: 20,
    emit: (data) => got.push(data.toString()),
    failed: noFailure,
  });
  tap.write(Buffer.from("SECRET-"));
  await new Promise((wake) => setTimeout(wake, 60));
  assert.deepEqual(got, ["SECRET-"]);
  tap.write(Buffer.from("ABCD1234 and more"));
  await tap.end();
  assert.deepEqual(got, ["SECRET-", "******** and more"]);
});

test("maskText masks a string's secrets, keeping its line breaks", () => {
  const text = "a SECRET-ABCD1234 b";
  assert.equal(maskText(text, find(text)), "a *************** b");
  assert.equal(maskText("x\ny", [{ start: 0, end: 3, detector: "test" }]), "*\n*");
});

test("a hold that expires while the loop was busy lets the read already waiting come first", async () => {
  const cards = detectorsFor(["credit-card"]);
  const server = createServer((socket) => {
    socket.write("card number 41111111");
    setTimeout(() => socket.end("11111111 end\n"), 2); // within the 5 ms hold
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const step = maskingTransform(
    new StreamMasker({ find: (text) => findSecrets(cards, text) }),
    5,
    noFailure,
  );
  let out = "";
  step.on("data", (data: Buffer) => {
    out += data.toString();
  });
  const client = connect(port, "127.0.0.1");
  let first = true;
  client.on("data", (chunk: Buffer) => {
    step.write(chunk);
    if (!first) return;
    first = false;
    const until = Date.now() + 20; // a busy bastion: 20 ms of other work after the first read
    while (Date.now() < until);
  });
  await new Promise<void>((ended) => client.on("end", ended));
  step.end();
  await new Promise<void>((finished) => step.on("end", finished));
  server.close();
  assert.equal(out, `card number ${"*".repeat(16)} end\n`);
});
