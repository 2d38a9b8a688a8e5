// How this machine will recognise the bastion, from the discovery document
// (fetched over HTTPS, so nothing is trusted on first use): the host CA's
// `@cert-authority` line (preferred: survives host key rotation), else the
// bastion's host key, pinned.

import type { ServerDiscovery } from "./server-api.js";
import { hostCaLine, pinnedHostKeyLine } from "./ssh-config.js";

export interface BastionTrust {
  /** The known_hosts file's contents. */
  readonly knownHosts: string;
  readonly kind: "host-ca" | "pinned-host-key";
}

export function bastionTrust(discovery: ServerDiscovery): BastionTrust {
  const { host, port } = discovery.ssh;
  if (discovery.host_ca !== null) {
    return { knownHosts: `${hostCaLine(discovery.host_ca, host, port)}\n`, kind: "host-ca" };
  }
  const pinned = pinnedHostKeyLine(discovery.host_key, host, port);
  return { knownHosts: `${pinned}\n`, kind: "pinned-host-key" };
}
