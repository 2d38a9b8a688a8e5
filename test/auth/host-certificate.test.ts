// decideHostCertificate against host certificates made by real ssh-keygen:
// one accepted case, then one refusal per check, in OpenSSH's order.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { decideHostCertificate } from "../../src/auth/host-certificate.js";
import { parsePublicKeyLine } from "../../src/openssh/keys.js";
import { generateTestKey } from "../harness/keys.js";

const dir = mkdtempSync(join(tmpdir(), "portcullis-hostcert-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const hostCa = generateTestKey(dir, "ed25519", "host_ca");
const otherCa = generateTestKey(dir, "ed25519", "other_ca");
const NOW = new Date();
const trust = {
  hostCa: parsePublicKeyLine(hostCa.publicLine),
  hostNames: ["10.0.0.5", "web1"],
  clockSkewMs: 60_000,
};

/** A certificate blob made by `ssh-keygen -s CA [-h] -n PRINCIPALS [-V VALIDITY]`. */
function certificate(options: {
  ca?: string;
  host?: boolean;
  principals?: string;
  validity?: string;
  extra?: string[];
}): Buffer {
  const key = generateTestKey(dir, "ed25519");
  execFileSync("ssh-keygen", [
    "-q",
    "-s",
    options.ca ?? hostCa.privatePath,
    ...(options.host === false ? [] : ["-h"]),
    "-I",
    "host",
    "-n",
    options.principals ?? "10.0.0.5",
    ...(options.validity ? ["-V", options.validity] : []),
    ...(options.extra ?? []),
    key.publicPath,
  ]);
  const line = readFileSync(key.publicPath.replace(/\.pub$/, "-cert.pub"), "utf8");
  return Buffer.from(line.split(" ")[1] ?? "", "base64");
}

describe("decideHostCertificate", () => {
  it("accepts a host certificate from the host CA naming the target's address", () => {
    assert.deepEqual(decideHostCertificate(certificate({}), trust, NOW), { ok: true });
  });

  it("accepts one naming the target by name", () => {
    assert.deepEqual(decideHostCertificate(certificate({ principals: "web1" }), trust, NOW), {
      ok: true,
    });
  });

  const refusals: Array<[string, () => Buffer, RegExp]> = [
    ["garbage", () => Buffer.from("not a certificate"), /^host certificate does not parse/],
    [
      "a user certificate",
      () => certificate({ host: false }),
      /^the target presented a user certificate/,
    ],
    [
      "another CA",
      () => certificate({ ca: otherCa.privatePath }),
      /^host certificate is signed by SHA256:.+, not by the target's host_ca$/,
    ],
    ["expired", () => certificate({ validity: "-2d:-1d" }), /^host certificate has expired$/],
    [
      "not yet valid",
      () => certificate({ validity: "+1d:+2d" }),
      /^host certificate is not yet valid$/,
    ],
    [
      "another host",
      () => certificate({ principals: "10.0.0.6" }),
      /^host certificate is not valid for 10\.0\.0\.5 or web1$/,
    ],
  ];
  for (const [name, make, reason] of refusals) {
    it(`refuses ${name}`, () => {
      const decision = decideHostCertificate(make(), trust, NOW);
      assert.equal(decision.ok, false);
      assert.match(decision.ok ? "" : decision.reason, reason);
    });
  }

  it("refuses a certificate whose CA signature was tampered with", () => {
    const blob = certificate({});
    blob[blob.length - 1] = (blob[blob.length - 1] ?? 0) ^ 1;
    const decision = decideHostCertificate(blob, trust, NOW);
    assert.deepEqual(decision, {
      ok: false,
      reason: "host certificate's CA signature does not verify",
    });
  });
});
