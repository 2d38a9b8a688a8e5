// `GET /.well-known/portcullis`: what `portcullis login` needs to find the
// identity provider, the bastion's SSH address and what to trust it by (its
// host CA's line, or its host key to pin: both over this HTTPS channel, so a
// client never has to trust the SSH connection on first use).

import type { SshPublicKey } from "../openssh/keys.js";

export interface DiscoverySource {
  readonly issuer: string;
  readonly clientId: string;
  /** The user CA and any extra trusted user CAs. */
  readonly userCaPublicKeys: readonly SshPublicKey[];
  /** The SSH host users connect to; absent: the host name the request came to. */
  readonly sshHost?: string;
  readonly sshPort: number;
  /** The bastion's host public key line, for clients to pin when there is no host CA. */
  readonly hostKey: string;
  /**
   * The `@cert-authority` known_hosts line for the bastion's host CA, read
   * on each request (a rotated CA is served without a restart); absent or
   * undefined: `host_ca` is null.
   */
  readonly hostCaLine?: () => string | undefined;
}

export interface DiscoveryDocument {
  issuer: string;
  client_id: string;
  user_ca_public_keys: string[];
  ssh: { host: string; port: number };
  host_key: string;
  host_ca: string | null;
}

export function discoveryDocument(source: DiscoverySource, requestHost: string): DiscoveryDocument {
  return {
    issuer: source.issuer,
    client_id: source.clientId,
    user_ca_public_keys: source.userCaPublicKeys.map((key) => key.toLine()),
    ssh: { host: source.sshHost ?? requestHost, port: source.sshPort },
    host_key: source.hostKey,
    host_ca: source.hostCaLine?.() ?? null,
  };
}
