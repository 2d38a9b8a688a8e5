// systemd/portcullis.service as systemd itself judges it: `systemd-analyze
// verify` passes and `systemd-analyze security --offline=true` rates its
// exposure at most 2.0 ("OK"), also with the port-22 drop-in from the docs.
// verify checks that ExecStart= exists, so it runs on a copy whose ExecStart
// is this checkout's CLI under the running node (the only line changed).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const UNIT_NAME = "portcullis.service";
const UNIT = fileURLToPath(new URL(`../../../systemd/${UNIT_NAME}`, import.meta.url));
const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const INSTALLED_BINARY = "/usr/local/bin/portcullis";
const MAX_EXPOSURE = 2.0;

/** The drop-in docs/operations.md gives for listening on port 22. */
const PORT_22_DROP_IN = `[Service]
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
PrivateUsers=no
`;

/** What the unit may still be marked down for: a network service running Node. */
const ACCEPTED_FINDINGS = new Set([
  "RootDirectory=/RootImage=",
  "MemoryDenyWriteExecute=",
  "RestrictAddressFamilies=~AF_UNIX",
  "RestrictAddressFamilies=~AF_(INET|INET6)",
  "PrivateNetwork=",
  "IPAddressDeny=",
  "DeviceAllow=",
  "NotifyAccess=",
]);

function analyze(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync("systemd-analyze", args, { encoding: "utf8", env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface SecurityReport {
  exposure: number;
  rating: string;
  /** Names of the checks marked ✗. */
  findings: string[];
}

function security(unitPath: string, env?: NodeJS.ProcessEnv): SecurityReport {
  const { code, stdout, stderr } = analyze(["security", "--offline=true", unitPath], env);
  assert.equal(code, 0, stderr);
  const overall = /Overall exposure level for \S+: (\d+\.\d+) (\S+)/.exec(stdout);
  assert.ok(overall, `no overall exposure in:\n${stdout}`);
  const findings = stdout
    .split("\n")
    .filter((line) => line.startsWith("✗"))
    .map((line) => line.slice(1).trim().split(/\s+/)[0] ?? "");
  return { exposure: Number(overall[1]), rating: overall[2] ?? "", findings };
}

const absent = spawnSync("systemd-analyze", ["--version"]).error !== undefined;
const skip = absent ? "systemd-analyze is not installed (.ci/run installs systemd)" : false;

describe("systemd unit", { skip }, () => {
  let dir: string;
  let verifiable: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "portcullis-unit-"));
    const text = readFileSync(UNIT, "utf8");
    assert.ok(
      text.includes(`ExecStart=${INSTALLED_BINARY} `),
      "ExecStart= changed: update this test",
    );
    verifiable = join(dir, UNIT_NAME);
    writeFileSync(
      verifiable,
      text.replace(`ExecStart=${INSTALLED_BINARY} `, `ExecStart=${process.execPath} ${CLI} `),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("passes systemd-analyze verify", () => {
    const { code, stdout, stderr } = analyze(["verify", verifiable]);
    assert.equal(code, 0, stderr);
    assert.equal(`${stdout}${stderr}`, "");
  });

  it(`is rated OK by systemd-analyze security --offline (exposure ≤ ${MAX_EXPOSURE})`, () => {
    const report = security(UNIT);
    assert.ok(report.exposure <= MAX_EXPOSURE, `exposure ${report.exposure} ${report.rating}`);
    const unexpected = report.findings.filter((finding) => !ACCEPTED_FINDINGS.has(finding));
    assert.deepEqual(unexpected, [], "hardening the unit lost");
  });

  it("stays OK with the port-22 drop-in, which grants CAP_NET_BIND_SERVICE only", () => {
    const units = join(dir, "with-drop-in");
    mkdirSync(join(units, `${UNIT_NAME}.d`), { recursive: true });
    writeFileSync(join(units, UNIT_NAME), readFileSync(verifiable));
    writeFileSync(join(units, `${UNIT_NAME}.d`, "port-22.conf"), PORT_22_DROP_IN);
    // A trailing ":" keeps the system's unit directories (targets) searchable.
    const env = { ...process.env, SYSTEMD_UNIT_PATH: `${units}:` };
    const report = security(UNIT_NAME, env);
    assert.ok(report.exposure <= MAX_EXPOSURE, `exposure ${report.exposure} ${report.rating}`);
    assert.ok(
      report.findings.includes("CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)"),
    );
    const verified = analyze(["verify", UNIT_NAME], env);
    assert.equal(verified.code, 0, verified.stderr);
  });
});
