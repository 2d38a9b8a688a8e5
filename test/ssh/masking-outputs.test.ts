// Masking what real commands print (issue 8, SPEC §9, docs/masking.md),
// end to end: a real bastion in front of a real sshd, an access entry that
// masks with every built-in detector and one custom one. Every kind of
// secret in a file, a secret split across writes, colour escapes from grep
// and ls, a 1 MB JSON document, a coloured secret on a narrow interactive
// terminal: the user sees each secret as `*` (same width), the recording
// holds only that, look-alikes are untouched, and each masked secret is
// audited (detector and count, never the secret) and counted in the index.
// Expected texts come from where the secrets were planted, never from the
// masker.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPair } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MASK_DETECTORS } from "../../src/policy/index.js";
import { run, startTestBastion, type TestBastion } from "../harness/bastion.js";
import { generateTestKey } from "../harness/keys.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";
import {
  endedSession,
  type KeptSession,
  listedMasked,
  recorded,
  settle,
  settledMaskCounts,
  shownMasked,
} from "../masking/masking-outputs-session.js";
import {
  COMPACT_IBAN,
  CUSTOM_DETECTOR,
  everyKindOfSecret,
  GROUPED_CARD,
  groupedCardLines,
  JWT,
  jsonDocument,
  LOOK_ALIKES,
  masked,
  PASSWORD,
  PLAIN_CARD,
  type Planted,
  PlantedText,
  SSN,
} from "../masking/masking-outputs-text.js";

const EXTRA_POLICY = `access:
  - name: masked-outputs
    subjects: { groups: [masked] }
    targets: { names: [web1] }
    commands: [baseline]
    mask: [${MASK_DETECTORS.join(", ")}, { name: ${CUSTOM_DETECTOR.name}, regex: "${CUSTOM_DETECTOR.regex}" }]
`;

const ESC = "\x1b";
/** What GNU grep wraps a match in by default (`ms=01;31`, then erase to end of line). */
const GREP_ON = `${ESC}[01;31m${ESC}[K`;
const GREP_OFF = `${ESC}[m${ESC}[K`;
const RED = `${ESC}[1;31m`;
const YELLOW = `${ESC}[33m`;
const BOLD = `${ESC}[1m`;
const RESET = `${ESC}[0m`;
/** Local runs of grep and ls see what the target's do: no colour settings, the C locale, a colour terminal. */
const PLAIN_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", TERM: "xterm" };
const REMOTE_PLAIN_ENV = "env -u GREP_COLORS -u GREP_COLOR -u LS_COLORS LC_ALL=C TERM=xterm";

/** An RSA private key in PEM, generated off the main thread (4096 bits: ~3.2 kB of text). */
function rsaPrivateKeyPem(bits: number): Promise<string> {
  return new Promise((resolve, reject) => {
    generateKeyPair("rsa", { modulusLength: bits }, (error, _publicKey, privateKey) => {
      if (error) reject(error);
      else resolve(privateKey.export({ type: "pkcs1", format: "pem" }).toString());
    });
  });
}

/** What must not show of planted secrets: each value, each line of a key block. */
function secretPieces(secrets: readonly Planted[]): string[] {
  return secrets.flatMap((secret) =>
    secret.detector === "private-key"
      ? secret.value.split("\n").filter((line) => line.length >= 16)
      : [secret.value],
  );
}

function assertNoSecret(text: string, pieces: readonly string[], where: string): void {
  for (const piece of pieces) assert.ok(!text.includes(piece), `${where} shows a secret: ${piece}`);
}

/** Equality of long texts, failing with where they first differ (not a megabyte diff). */
function assertSameText(actual: string, expected: string, where: string): void {
  if (actual === expected) return;
  let at = 0;
  while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, at - 60), at + 60));
  assert.fail(
    `${where} differs at ${at} of ${expected.length} (got ${actual.length}):\n` +
      `  actual   ${around(actual)}\n  expected ${around(expected)}`,
  );
}

describe("masking what targets print", () => {
  let bastion: TestBastion;
  let work: string;
  const pem = rsaPrivateKeyPem(4096);

  before(async () => {
    bastion = await startTestBastion({ extraPolicy: EXTRA_POLICY });
    work = mkdtempSync(join(tmpdir(), "portcullis-masking-outputs-"));
  });
  after(async () => {
    await bastion?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Runs `command` on web1 through the bastion as `user` (a new certificate, group `masked`). */
  async function exec(user: string, command: string): Promise<string> {
    const key = await bastion.issueUser(user, ["masked"]);
    const result = await run("/usr/bin/ssh", [...bastion.sshArgs(key, "web1"), command]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  }

  /** Writes `text` to a file in the work directory; its path. */
  function workFile(name: string, text: string): string {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  }

  describe("every kind of secret in one file, cat through the bastion", () => {
    const user = "every-kind@example.com";
    let file: PlantedText;
    let shown: string;
    let session: KeptSession;

    before(async () => {
      const openssh = readFileSync(generateTestKey(work, "rsa").privatePath, "utf8");
      file = everyKindOfSecret([await pem, openssh]);
      shown = await exec(user, `cat ${workFile("every-kind.txt", file.plainText())}`);
      session = await endedSession(bastion, user);
    });

    it("shows each secret as one * per character and the look-alikes untouched", async () => {
      assert.ok((await pem).length >= 2500, "the PEM key is a ~3 kB block");
      assertNoSecret(shown, secretPieces(file.planted), "the user's output");
      for (const line of LOOK_ALIKES) assert.ok(shown.includes(`${line}\n`), line);
      assert.equal(shown, file.maskedText());
    });

    it("records only the masked text, with a mask marker per detector", () => {
      const { output, markers } = recorded(bastion, session);
      assertNoSecret(output, secretPieces(file.planted), "the recording");
      assert.equal(output, file.maskedText());
      for (const [detector, count] of Object.entries(file.counts()))
        assert.ok(markers.includes(`mask: ${detector} ×${count}`), `${detector} in ${markers}`);
    });

    it("audits each detector's count as a mask event, never a secret", async () => {
      assert.equal(Object.keys(file.counts()).length, MASK_DETECTORS.length + 1);
      assert.deepEqual(await settledMaskCounts(bastion, user, file.counts()), file.counts());
      const events = bastion.auditEvents().filter((e) => e.event === "mask" && e.user === user);
      for (const event of events) assert.equal(event.session, session.id);
      assertNoSecret(
        readFileSync(bastion.auditPath, "utf8"),
        secretPieces(file.planted),
        "the audit log",
      );
    });

    it("counts the masked secrets in recordings list and show", async () => {
      const total = file.planted.length;
      const counted = await settle(
        () => endedSession(bastion, user),
        (kept) => listedMasked(kept) === total,
      );
      assert.equal(listedMasked(counted), total, counted.listed);
      assert.equal(shownMasked(counted), total, counted.details);
    });
  });

  describe("a secret split across writes by the target", () => {
    it("is masked whole and counted when the writes come within the hold", async () => {
      const user = "split-quick@example.com";
      // Each first part is more than 16 bytes (not echo) and could still grow into a secret: held.
      const shown = await exec(
        user,
        "printf 'card number 41111111'; printf '11111111\\n'; " +
          "printf 'grouped card 4111 1111 '; printf '1111 1111 end\\n'; " +
          "printf 'export PGPASSWORD=s3cr'; printf '3t-later\\n'",
      );
      assert.equal(
        shown,
        `card number ${masked("4111111111111111")}\ngrouped card ${masked(GROUPED_CARD)} end\n` +
          "export PGPASSWORD=************\n",
      );
      const expected = { "credit-card": 2, "password-assignment": 1 };
      assert.deepEqual(await settledMaskCounts(bastion, user, expected), expected);
    });

    it("masks a value whose key name came in an earlier write, however late", async () => {
      const user = "split-key-first@example.com";
      const shown = await exec(
        user,
        "printf 'export PGPASSWORD='; sleep 0.3; printf 's3cr3t-late\\n'",
      );
      assert.equal(shown, `export PGPASSWORD=${masked("s3cr3t-late")}\n`);
      const expected = { "password-assignment": 1 };
      assert.deepEqual(await settledMaskCounts(bastion, user, expected), expected);
    });

    describe("a card whose second half comes after a pause longer than the hold", () => {
      const user = "split-late-card@example.com";
      let shown: string;
      before(async () => {
        shown = await exec(
          user,
          "printf 'card number 41111111'; sleep 0.3; printf '11111111 end\\n'",
        );
      });

      it("masks the part that comes after the pause (the first part may have gone out)", () => {
        // The first half goes out unmasked after the 5 ms hold: it is not a card on its own.
        assert.match(shown, /^card number (?:41111111|\*{8})\*{8} end\n$/);
      });

      it("audits the card it masked", async () => {
        const expected = { "credit-card": 1 };
        assert.deepEqual(await settledMaskCounts(bastion, user, expected, 1_000), expected);
      });
    });
  });

  describe("colour escapes around and inside secrets", () => {
    it("grep --color=always: masked, the escapes kept byte for byte", async () => {
      const path = workFile(
        "grep.txt",
        `Card: ${GROUPED_CARD} exp 12/27\ndb password=${PASSWORD}\npaid to ${COMPACT_IBAN} today\nSSN: ${SSN}\nnothing here\n`,
      );
      const patterns = [
        "-e",
        "1111 1111",
        "-e",
        "password=",
        "-e",
        "NWBK[0-9]*",
        "-e",
        "[0-9]\\{3\\}-[0-9]\\{2\\}-[0-9]\\{4\\}",
      ];
      const colour = (text: string) => `${GREP_ON}${text}${GREP_OFF}`;
      const printed = [
        `Card: 4111 ${colour("1111 1111")} 1111 exp 12/27`,
        `db ${colour("password=")}${PASSWORD}`,
        `paid to GB29${colour("NWBK60161331926819")} today`,
        `SSN: ${colour(SSN)}`,
        "",
      ].join("\n");
      const grepArgs = ["--color=always", ...patterns, path];
      const local = execFileSync("grep", grepArgs, { env: PLAIN_ENV, encoding: "utf8" });
      assert.equal(local, printed, "grep colours the matches this way");
      const quoted = grepArgs.map((word) => `'${word}'`).join(" ");
      const shown = await exec("grep-colour@example.com", `${REMOTE_PLAIN_ENV} grep ${quoted}`);
      assert.equal(
        shown,
        [
          `Card: ${masked("4111 ")}${colour(masked("1111 1111"))}${masked(" 1111")} exp 12/27`,
          `db ${colour("password=")}${masked(PASSWORD)}`,
          `paid to ${masked("GB29")}${colour(masked("NWBK60161331926819"))} today`,
          `SSN: ${colour(masked(SSN))}`,
          "",
        ].join("\n"),
      );
    });

    it("ls --color=always: secrets in names masked, the colours kept", async () => {
      const dir = join(work, "ls");
      mkdirSync(join(dir, `card-${PLAIN_CARD}`), { recursive: true });
      chmodSync(workFile(`ls/ssn=${SSN}.sh`, "#!/bin/sh\n"), 0o755);
      workFile("ls/readme.txt", "");
      const printed = execFileSync("ls", ["--color=always", "-1", dir], {
        env: PLAIN_ENV,
        encoding: "utf8",
      });
      assert.ok(printed.includes(`${ESC}[01;34mcard-${PLAIN_CARD}`), JSON.stringify(printed));
      const shown = await exec(
        "ls-colour@example.com",
        `${REMOTE_PLAIN_ENV} ls --color=always -1 ${dir}`,
      );
      assert.equal(
        shown,
        printed.replace(PLAIN_CARD, masked(PLAIN_CARD)).replace(SSN, masked(SSN)),
      );
    });
  });

  it("a 1 MB JSON document comes out exactly masked, in the output and the recording", async () => {
    const user = "json@example.com";
    const doc = jsonDocument(1024 * 1024, 5);
    const expected = doc.maskedText();
    const shown = await exec(user, `cat ${workFile("export.json", doc.plainText())}`);
    assertSameText(shown, expected, "the user's output");
    const { output } = recorded(bastion, await endedSession(bastion, user));
    assertSameText(output, expected, "the recording");
    assertNoSecret(output, secretPieces(doc.planted), "the recording");
    assert.deepEqual(await settledMaskCounts(bastion, user, doc.counts()), doc.counts());
  });

  it("a 1 MB file of grouped card numbers: each card masked whole across reads", async () => {
    // Reads end at fixed sizes, so some end between two groups of a card.
    const user = "grouped-cards@example.com";
    const lines = groupedCardLines(1024 * 1024);
    const shown = await exec(user, `cat ${workFile("cards.txt", lines.plainText())}`);
    assertSameText(shown, lines.maskedText(), "the user's output");
    assert.deepEqual(await settledMaskCounts(bastion, user, lines.counts()), lines.counts());
  });

  it("an interactive shell on a 20-column terminal: coloured, wrapping secrets are masked", async () => {
    const user = "narrow-tty@example.com";
    // Each secret is wider than the terminal or crosses its 20th column.
    const screen = new PlantedText()
      .text(`Card: ${RED}`)
      .secret("credit-card", GROUPED_CARD)
      .text(`${RESET} exp\njwt: ${YELLOW}`)
      .secret("jwt", JWT)
      .text(`${RESET}\n${BOLD}password=${RESET}${RED}`)
      .secret("password-assignment", PASSWORD)
      .text(`${RESET}\n`);
    const path = workFile("colour.txt", screen.plainText());
    const key = await bastion.issueUser(user, ["masked"]);
    const term = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(key, "web1")], {
      cols: 20,
    });
    let shown: string;
    try {
      await term.expect(PROMPT_END);
      const from = term.output.length;
      term.type(`stty size; cat ${path}; echo done-$((6*7))\r`);
      await term.expect(/done-42/, 15_000, from);
      shown = term.output.slice(from);
      term.type("exit\r");
      await term.exit();
    } finally {
      term.kill();
    }
    assert.match(shown, /[\r\n]24 20\r\n/, "the target's terminal is 20 columns wide");
    const onTerminal = screen.maskedText().replaceAll("\n", "\r\n"); // the tty's onlcr
    assertNoSecret(shown, secretPieces(screen.planted), "the terminal");
    assert.ok(shown.includes(onTerminal), JSON.stringify(shown));
    const { output } = recorded(bastion, await endedSession(bastion, user));
    assertNoSecret(output, secretPieces(screen.planted), "the recording");
    assert.ok(output.includes(onTerminal), JSON.stringify(output));
    assert.deepEqual(await settledMaskCounts(bastion, user, screen.counts()), screen.counts());
  });
});
