// Masking in real sessions (issue 8): the access entry's `mask:` detectors
// on what a real sshd's commands print, stdout and stderr, in exec and in an
// interactive shell; the recording keeps only the masked text, and each
// masked secret is audited without the secret.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";
import { generateTestKey } from "../harness/keys.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";

const CARD = "4111 1111 1111 1111";
const MASKED_CARD = "*******************";

const EXTRA_POLICY = `access:
  - name: masked
    subjects: { groups: [masked] }
    targets: { names: [web1] }
    commands: [baseline]
    mask: [credit-card, private-key, { name: ticket, regex: "TICKET-[0-9]{4}" }]
  - name: shown-recorded-masked
    subjects: { groups: [shown] }
    targets: { names: [web1] }
    commands: [baseline]
    mask: [credit-card, password-assignment]
    mask_input: true
    masking: { recording_only: true }
    record_input: true
`;

/** The text of every recording under `dir`, or only those of session `session`. */
function castTexts(dir: string, session?: string): string {
  const texts: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (
        entry.name.endsWith(".cast") &&
        (session === undefined || entry.name.startsWith(session))
      )
        texts.push(readFileSync(child, "utf8"));
    }
  };
  walk(dir);
  return texts.join("\n");
}

async function waitFor(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

describe("masking in sessions", () => {
  let bastion: TestBastion;
  let mia: UserKey;
  let keyDir: string;

  before(async () => {
    bastion = await startTestBastion({ extraPolicy: EXTRA_POLICY });
    mia = await bastion.issueUser("mia@example.com", ["masked"]);
    keyDir = mkdtempSync(join(tmpdir(), "portcullis-masking-"));
  });
  after(async () => {
    await bastion?.stop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it("masks stdout and stderr of an exec, same width, and audits each detector's count", async () => {
    const result = await run("/usr/bin/ssh", [
      ...bastion.sshArgs(mia, "web1"),
      `printf 'card ${CARD} ok\\n'; printf 'see TICKET-1234\\n' >&2; printf 'order 4111111111111112\\n'`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `card ${MASKED_CARD} ok\norder 4111111111111112\n`);
    assert.match(result.stderr, /see \*{11}/);
    const event = await bastion.waitForAudit(
      (e) => e.event === "mask" && e.detector === "credit-card",
    );
    assert.equal(event.count, 1);
    // The index counts both (the card on stdout, the ticket on stderr), once it has written them.
    const deadline = Date.now() + 5_000;
    let listed = "";
    while (!/masked=2\b/.test(listed) && Date.now() < deadline) {
      listed = (await bastion.cli(["recordings", "list", "--user", "mia@example.com"])).stdout;
      await new Promise((wake) => setTimeout(wake, 100));
    }
    assert.match(listed, /masked=2\b/);
    const maskEvents = bastion.auditEvents().filter((e) => e.event === "mask");
    assert.doesNotMatch(JSON.stringify(maskEvents), /4111|TICKET-1234/);
  });

  it("masks a private key printed in a shell, across lines, and the recording keeps only the mask", async () => {
    // A real key, generated now: `cat` shows it the way a user would.
    const key = generateTestKey(keyDir, "rsa");
    const keyLines = readFileSync(key.privatePath, "utf8").split("\n").slice(1, -2);
    const term = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(mia, "web1")]);
    try {
      await term.expect(PROMPT_END);
      const from = term.output.length;
      term.type(`cat ${key.privatePath}; echo after-key\r`);
      await term.expect(/\r\nafter-key/, 15_000, from);
      const shown = term.output.slice(from);
      for (const line of keyLines) assert.ok(!shown.includes(line), shown);
      assert.match(shown, /\*{20,}/);
      term.type("exit\r");
      await term.exit();
    } finally {
      term.kill();
    }
    await bastion.waitForAudit((e) => e.event === "mask" && e.detector === "private-key");
    await bastion.waitForAudit((e) => e.event === "session.end" && e.user === "mia@example.com");
    const deadline = Date.now() + 10_000;
    while (!castTexts(join(bastion.dir, "recordings")).includes("mask: private-key")) {
      if (Date.now() > deadline) assert.fail("no mask marker in the recording");
      await new Promise((wake) => setTimeout(wake, 50));
    }
    const recorded = castTexts(join(bastion.dir, "recordings"));
    for (const line of keyLines) assert.ok(!recorded.includes(line));
    // The exec's output was recorded masked (its command line is in a marker, as typed).
    assert.ok(recorded.includes(`card ${MASKED_CARD} ok`));
  });

  it("recording_only: the user sees the output, the recording and the audit keep it masked, typed secrets too", async () => {
    const rita = await bastion.issueUser("rita@example.com", ["shown"]);
    const exec = await run("/usr/bin/ssh", [
      ...bastion.sshArgs(rita, "web1"),
      `printf 'card ${CARD} ok\\n'`,
    ]);
    assert.equal(exec.stdout, `card ${CARD} ok\n`);
    const term = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(rita, "web1")]);
    try {
      await term.expect(PROMPT_END);
      const from = term.output.length;
      term.type('export PGPASSWORD=hunter2x && echo typed-$(expr length "$PGPASSWORD")\r');
      await term.expect(/typed-8/, 10_000, from);
      assert.ok(
        term.output.slice(from).includes("PGPASSWORD=hunter2x"),
        "the user sees what they type",
      );
      term.type("exit\r");
      await term.exit();
    } finally {
      term.kill();
    }
    const ended = () =>
      bastion
        .auditEvents()
        .filter((e) => e.event === "session.end" && e.user === "rita@example.com");
    await waitFor("both sessions to end", () => ended().length === 2);
    const sessions = ended().map((e) => String(e.session));
    const recorded = () =>
      sessions.map((id) => castTexts(join(bastion.dir, "recordings"), id)).join("\n");
    await waitFor("the mask markers", () => (recorded().match(/mask: /g) ?? []).length >= 2);
    const cast = recorded();
    assert.ok(!cast.includes("hunter2x") && !cast.includes(CARD), cast);
    assert.ok(cast.includes(`card ${MASKED_CARD} ok`), "the exec's output, masked");
    assert.ok(cast.includes("PGPASSWORD=********"), "the typed line, masked");
    assert.match(cast, /\[[\d.]+, "i", "[^"]*PGPASSWORD=\*{8}/, "the recorded input, masked");
    const commands = bastion
      .auditEvents()
      .filter((e) => e.event === "command" && e.user === "rita@example.com")
      .map((e) => String(e.line));
    assert.ok(
      commands.some((line) => line.startsWith("export PGPASSWORD=******** ")),
      commands.join("\n"),
    );
    assert.ok(
      commands.some((line) => line.includes(MASKED_CARD)),
      commands.join("\n"),
    );
    const audited = JSON.stringify(
      bastion.auditEvents().filter((e) => e.user === "rita@example.com"),
    );
    assert.ok(!audited.includes("hunter2x") && !audited.includes(CARD));
  });
});
