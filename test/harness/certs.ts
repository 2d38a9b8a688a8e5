// Test helper for certificate integration tests: user (or host) certificates
// made by the real ssh-keygen with any validity, principals and options;
// reading a certificate's serial back with `ssh-keygen -L`; and an ssh2
// client whose agent presents a certificate and signs with whatever it is
// given (a stolen certificate: the blob without its private key).

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IdentityCallback, ParsedKey, SignCallback, SigningRequestOptions } from "ssh2";
import ssh2 from "ssh2";
import type { UserKey } from "./bastion.js";
import { generateTestKey } from "./keys.js";

export interface KeygenCertificateSpec {
  /** `-I`; default "alice@example.com". */
  readonly keyId?: string;
  /** `-n` joined by commas; an empty list omits `-n` (no principals). Default ["alice@example.com"]. */
  readonly principals?: readonly string[];
  /** `-V`, e.g. "-2d:-1d"; default: forever. */
  readonly validity?: string;
  /** Each one becomes `-O VALUE` (e.g. "source-address=10.0.0.0/8", "extension:groups@portcullis=ops"). */
  readonly options?: readonly string[];
  /** `-h`: a host certificate. */
  readonly host?: boolean;
}

export interface KeygenCertificate extends UserKey {
  /** The serial given to ssh-keygen (`-z`), in decimal as the audit log writes it. */
  readonly serial: string;
}

/** A fresh ed25519 key in `dir` and `KEY-cert.pub` beside it, signed by `caKeyPath` with ssh-keygen. */
export function keygenCertificate(
  dir: string,
  caKeyPath: string,
  spec: KeygenCertificateSpec = {},
): KeygenCertificate {
  const key = generateTestKey(dir, "ed25519");
  const serial = randomBytes(8).readBigUInt64BE().toString();
  const principals = spec.principals ?? ["alice@example.com"];
  execFileSync("ssh-keygen", [
    "-q",
    "-s",
    caKeyPath,
    "-I",
    spec.keyId ?? "alice@example.com",
    "-z",
    serial,
    ...(principals.length > 0 ? ["-n", principals.join(",")] : []),
    ...(spec.validity ? ["-V", spec.validity] : []),
    ...(spec.options ?? []).flatMap((option) => ["-O", option]),
    ...(spec.host ? ["-h"] : []),
    key.publicPath,
  ]);
  return {
    privatePath: key.privatePath,
    publicPath: key.publicPath,
    certPath: `${key.privatePath}-cert.pub`,
    serial,
  };
}

/** The serial of a certificate file, as `ssh-keygen -L` prints it. */
export function certificateSerial(certPath: string): string {
  const listing = execFileSync("ssh-keygen", ["-L", "-f", certPath], { encoding: "utf8" });
  const serial = /^\s*Serial: (\d+)$/m.exec(listing)?.[1];
  if (serial === undefined) throw new Error(`no serial in ssh-keygen -L output for ${certPath}`);
  return serial;
}

/** Makes a complete SSH signature blob: string(algorithm) string(signature). */
function sshSignatureBlob(algorithm: string, signature: Buffer): Buffer {
  const field = (data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, data]);
  };
  return Buffer.concat([field(Buffer.from(algorithm)), field(signature)]);
}

/** Produces the SSH signature blob an agent answers a sign request with. */
export type Signer = (data: Buffer) => Buffer;

/** Real ed25519 signatures with the private key in `privateKeyPath` (signed by ssh2, not by src/). */
export function ed25519Signer(privateKeyPath: string): Signer {
  const key = ssh2.utils.parseKey(readFileSync(privateKeyPath));
  if (key instanceof Error || key.type !== "ssh-ed25519") {
    throw new Error(`${privateKeyPath} is not an ed25519 private key`);
  }
  return (data) => sshSignatureBlob("ssh-ed25519", key.sign(data));
}

/** Well-formed ssh-ed25519 signature blobs holding 64 random bytes. */
export const junkEd25519Signer: Signer = () => sshSignatureBlob("ssh-ed25519", randomBytes(64));

/**
 * The identity an ssh2 agent presents for a certificate file: ssh2 sends
 * `type` as the key algorithm and `getPublicSSH()` as the key blob. (ssh2's
 * own parseKey misreads certificate lines, so the fields are set by hand on
 * top of the parsed plain public key, which keeps ssh2's parsed-key marker.)
 */
export function certificateIdentity(certPath: string, publicPath: string): ParsedKey {
  const [algorithm, base64] = readFileSync(certPath, "utf8").trim().split(/\s+/);
  const plain = ssh2.utils.parseKey(readFileSync(publicPath));
  if (plain instanceof Error || algorithm === undefined || base64 === undefined) {
    throw new Error(`cannot read ${certPath} / ${publicPath}`);
  }
  const blob = Buffer.from(base64, "base64");
  return Object.create(plain, {
    type: { value: algorithm },
    getPublicSSH: { value: () => blob },
  }) as ParsedKey;
}

/** An agent holding one identity (a key or a certificate) and answering every sign request with `signer`. */
export class SigningAgent extends ssh2.BaseAgent<ParsedKey> {
  constructor(
    private readonly identity: ParsedKey,
    private readonly signer: Signer,
  ) {
    super();
  }
  override getIdentities(callback: IdentityCallback<ParsedKey>): void {
    callback(undefined, [this.identity]);
  }
  override sign(
    _key: ParsedKey,
    data: Buffer,
    optionsOrCallback: SigningRequestOptions | SignCallback,
    callback?: SignCallback,
  ): void {
    const done = typeof optionsOrCallback === "function" ? optionsOrCallback : callback;
    done?.(undefined, this.signer(data));
  }
}

export interface AgentConnection {
  readonly port: number;
  readonly username: string;
  /** Base64 of the server's host key blob; any other key is refused. */
  readonly hostKeyBase64: string;
  readonly agent: SigningAgent;
}

/** Connects an ssh2 client that authenticates only through `agent`; rejects when refused. */
export function connectWithAgent(options: AgentConnection): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on("ready", () => resolve(client));
    client.on("error", (error) => {
      client.end();
      reject(error);
    });
    client.connect({
      host: "127.0.0.1",
      port: options.port,
      username: options.username,
      agent: options.agent,
      readyTimeout: 10_000,
      hostVerifier: (key: Buffer) => key.toString("base64") === options.hostKeyBase64,
    });
  });
}

/** Runs `command` on an authenticated ssh2 client and resolves with its stdout. */
export function execStdout(client: ssh2.Client, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      let stdout = "";
      channel.on("data", (data: Buffer) => {
        stdout += data.toString();
      });
      channel.on("close", () => resolve(stdout));
    });
  });
}
