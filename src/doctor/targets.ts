// Doctor: each target of the policy accepts a TCP connection, and the host
// key it presents in an SSH handshake is the pinned one, or a host
// certificate its host_ca signed for it. The handshake stops at the host key
// (src/ssh/upstream.ts scanHostKey): the bastion never authenticates here.

import { connect } from "node:net";
import { decideHostCertificate } from "../auth/host-certificate.js";
import { sshFingerprint } from "../openssh/keys.js";
import type { Target } from "../policy/index.js";
import {
  hostKeyAlgorithm,
  hostKeyTrustOf,
  scanHostKey,
  type UpstreamEndpoint,
} from "../ssh/upstream.js";
import { errorMessage } from "../util/errors.js";
import { type CheckResult, fail, ok } from "./check.js";

const CONNECT_TIMEOUT_MS = 3_000;
const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Host certificate types asked for, one handshake each, until the target presents one. */
const CERTIFICATE_TYPES = [
  "ssh-ed25519-cert-v01@openssh.com",
  "ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "rsa-sha2-512-cert-v01@openssh.com",
  "ecdsa-sha2-nistp384-cert-v01@openssh.com",
  "ecdsa-sha2-nistp521-cert-v01@openssh.com",
];
const NO_SUCH_TYPE = "no matching host key";

/** What the target presented: a host key (or certificate) blob, or why there is none. */
export type PresentedKey = { readonly blob: Buffer } | { readonly error: string };

/** undefined when a TCP connection opens within the timeout, else why not. */
export function tcpProblem(
  endpoint: UpstreamEndpoint,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const finish = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => finish(`no answer within ${timeoutMs / 1000} s`));
    socket.once("connect", () => finish(undefined));
    socket.once("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
  });
}

/** The pinned key's type, or the first host certificate type the target has. */
export async function presentedKey(target: Target): Promise<PresentedKey> {
  const types = target.host_key ? [hostKeyAlgorithm(target.host_key.type)] : CERTIFICATE_TYPES;
  for (const type of types) {
    try {
      const line = await scanHostKey(target.address, HANDSHAKE_TIMEOUT_MS, type);
      return { blob: Buffer.from(line.split(" ")[1] ?? "", "base64") };
    } catch (error) {
      const message = errorMessage(error);
      if (!message.includes(NO_SUCH_TYPE)) return { error: message };
      if (target.host_key) return { error: `offers no ${type} host key, the type pinned` };
    }
  }
  return { error: "presents no host certificate, but the target is trusted by host_ca" };
}

export function judgeReachability(target: Target, problem: string | undefined): CheckResult {
  const check = `target ${target.name}`;
  const address = `${target.address.host}:${target.address.port}`;
  return problem === undefined
    ? ok(check, `${address} accepts connections`)
    : fail(check, `cannot connect to ${address} (${problem}): check the address and firewalls`);
}

export function judgeHostKey(
  target: Target,
  presented: PresentedKey,
  now: Date,
  clockSkewMs: number,
): CheckResult {
  const check = `target ${target.name} host key`;
  if ("error" in presented) return fail(check, presented.error);
  if (!target.host_key && !target.host_ca) {
    return fail(check, "the target has neither host_key nor host_ca");
  }
  const trust = hostKeyTrustOf(target, clockSkewMs);
  if (trust.kind === "pinned") {
    const pinned = sshFingerprint(trust.key.blob);
    return presented.blob.equals(trust.key.blob)
      ? ok(check, `matches the pinned ${pinned}`)
      : fail(
          check,
          `presents ${sshFingerprint(presented.blob)}, not the pinned ${pinned}: if the change is expected, check it out of band and pin the line from portcullis targets scan ${target.name}`,
        );
  }
  const decision = decideHostCertificate(presented.blob, trust.trust, now);
  return decision.ok
    ? ok(check, `host certificate signed by its host_ca ${trust.trust.hostCa.fingerprint}`)
    : fail(check, `${decision.reason}: re-issue the target's host certificate`);
}
