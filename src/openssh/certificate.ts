// OpenSSH certificate codec (PROTOCOL.certkeys, "*-cert-v01@openssh.com"):
// parse a certificate blob or line into a frozen value, and encode + sign one
// with a CA key. Parsing checks structure only (option names strictly sorted
// and unique, well-formed data for known options, no trailing bytes); whether
// to trust a certificate is decided in src/auth.

import { randomBytes } from "node:crypto";
import { PortcullisError } from "../util/errors.js";
import { keyAlgorithmForCertificateType, quoteName } from "./algorithms.js";
import {
  publicKeyFromBlob,
  type SshPrivateKey,
  type SshPublicKey,
  splitKeyLine,
  UNSUPPORTED_KEY_ERROR,
} from "./keys.js";
import { signSsh } from "./signature.js";
import { SshReader, SshWriter, sshFormatError } from "./wire.js";

export type CertificateType = "user" | "host";

/** Portcullis's extension carrying the user's groups, comma-separated, as an SSH string. */
export const GROUPS_EXTENSION = "groups@portcullis";

/** `valid before` value meaning "never expires". */
export const VALID_FOREVER = 0xffff_ffff_ffff_ffffn;

const CERTIFICATE_TYPE_CODES: ReadonlyMap<number, CertificateType> = new Map([
  [1, "user"],
  [2, "host"],
]);

export interface SshCertificate {
  /** Certificate type name inside the blob, e.g. "ssh-ed25519-cert-v01@openssh.com". */
  readonly algorithm: string;
  readonly blob: Buffer;
  readonly nonce: Buffer;
  /** The certified public key. */
  readonly key: SshPublicKey;
  readonly serial: bigint;
  readonly type: CertificateType;
  readonly keyId: string;
  readonly principals: readonly string[];
  /** Seconds since the epoch. */
  readonly validAfter: bigint;
  /** Seconds since the epoch; VALID_FOREVER = no expiry. */
  readonly validBefore: bigint;
  readonly criticalOptions: ReadonlyMap<string, Buffer>;
  readonly extensions: ReadonlyMap<string, Buffer>;
  /** The CA key that signed the certificate. */
  readonly signatureKey: SshPublicKey;
  /** The CA's SSH signature blob. */
  readonly signature: Buffer;
  /** The bytes the CA signed: the blob up to the signature field. */
  readonly signedData: Buffer;
  toLine(comment?: string): string;
}

type OptionFormat = "flag" | "string";

/** Options whose data OpenSSH interprets; their data must be exactly this shape. */
const CRITICAL_OPTION_FORMATS: ReadonlyMap<string, OptionFormat> = new Map([
  ["force-command", "string"],
  ["source-address", "string"],
  ["verify-required", "flag"],
]);

const EXTENSION_FORMATS: ReadonlyMap<string, OptionFormat> = new Map([
  [GROUPS_EXTENSION, "string"],
  ["no-touch-required", "flag"],
  ["permit-X11-forwarding", "flag"],
  ["permit-agent-forwarding", "flag"],
  ["permit-port-forwarding", "flag"],
  ["permit-pty", "flag"],
  ["permit-user-rc", "flag"],
]);

/** Decodes option data that holds one SSH string (e.g. source-address). */
export function optionString(data: Buffer): string {
  const reader = new SshReader(data);
  const value = reader.utf8String();
  reader.end();
  return value;
}

function checkOptionData(name: string, data: Buffer, format: OptionFormat | undefined): void {
  try {
    if (format === "flag" && data.length !== 0) throw sshFormatError("flag carries data");
    if (format === "string") optionString(data);
  } catch {
    throw sshFormatError(`certificate option ${quoteName(name)} is corrupt`);
  }
}

function readOptions(
  section: Buffer,
  formats: ReadonlyMap<string, OptionFormat>,
): ReadonlyMap<string, Buffer> {
  const reader = new SshReader(section);
  const options = new Map<string, Buffer>();
  let previous: Buffer | undefined;
  while (reader.remaining > 0) {
    const name = reader.utf8String();
    const nameBytes = Buffer.from(name, "utf8");
    if (previous !== undefined && Buffer.compare(previous, nameBytes) >= 0) {
      throw sshFormatError("certificate options are duplicated or not sorted by name");
    }
    const data = Buffer.from(reader.string());
    checkOptionData(name, data, formats.get(name));
    options.set(name, data);
    previous = nameBytes;
  }
  return options;
}

function readPrincipals(section: Buffer): readonly string[] {
  const reader = new SshReader(section);
  const principals: string[] = [];
  while (reader.remaining > 0) principals.push(reader.utf8String());
  return Object.freeze(principals);
}

function readCertificateType(code: number): CertificateType {
  const type = CERTIFICATE_TYPE_CODES.get(code);
  if (type === undefined) throw sshFormatError(`unknown certificate type ${code}`);
  return type;
}

function certificateLine(algorithm: string, blob: Buffer): (comment?: string) => string {
  const base64 = blob.toString("base64");
  return (comment) => (comment ? `${algorithm} ${base64} ${comment}` : `${algorithm} ${base64}`);
}

/** Parses a certificate blob; any structural problem throws ERR_SSH_FORMAT. */
export function parseCertificate(blob: Buffer): SshCertificate {
  const own = Buffer.from(blob);
  const reader = new SshReader(own);
  const algorithm = reader.utf8String();
  const keyAlgorithm = keyAlgorithmForCertificateType(algorithm);
  if (keyAlgorithm === undefined) {
    throw new PortcullisError(
      UNSUPPORTED_KEY_ERROR,
      `unsupported certificate type ${quoteName(algorithm)}`,
    );
  }
  const nonce = reader.string();
  const keyFieldsStart = reader.offset;
  for (let field = 0; field < keyAlgorithm.publicFieldCount; field++) reader.string();
  const keyFields = own.subarray(keyFieldsStart, reader.offset);
  const key = publicKeyFromBlob(
    new SshWriter().string(keyAlgorithm.type).raw(keyFields).toBuffer(),
  );
  const serial = reader.uint64();
  const type = readCertificateType(reader.uint32());
  const keyId = reader.utf8String();
  const principals = readPrincipals(reader.string());
  const validAfter = reader.uint64();
  const validBefore = reader.uint64();
  const criticalOptions = readOptions(reader.string(), CRITICAL_OPTION_FORMATS);
  const extensions = readOptions(reader.string(), EXTENSION_FORMATS);
  reader.string(); // reserved, ignored as OpenSSH does
  const signatureKey = publicKeyFromBlob(reader.string());
  const signedData = own.subarray(0, reader.offset);
  const signature = reader.string();
  reader.end();
  return Object.freeze({
    algorithm,
    blob: own,
    nonce,
    key,
    serial,
    type,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    signatureKey,
    signature,
    signedData,
    toLine: certificateLine(algorithm, own),
  });
}

/** Parses a "TYPE-cert-v01@openssh.com BASE64 [COMMENT]" line (a `-cert.pub` file). */
export function parseCertificateLine(line: string): SshCertificate {
  const { type, blob } = splitKeyLine(line, "certificate");
  const certificate = parseCertificate(blob);
  if (certificate.algorithm !== type) {
    throw sshFormatError("certificate line type does not match its data");
  }
  return certificate;
}

// ---- encoding ----

/** `true`: a flag (empty data); string: one SSH string in the data; Buffer: raw data. */
export type CertificateOptionValue = true | string | Buffer;

export interface CertificateFields {
  readonly key: SshPublicKey;
  readonly serial: bigint;
  readonly type: CertificateType;
  readonly keyId: string;
  readonly principals: readonly string[];
  /** Seconds since the epoch. */
  readonly validAfter: bigint;
  /** Seconds since the epoch; VALID_FOREVER = no expiry. */
  readonly validBefore: bigint;
  readonly criticalOptions?: Readonly<Record<string, CertificateOptionValue>>;
  readonly extensions?: Readonly<Record<string, CertificateOptionValue>>;
  /** Defaults to 32 random bytes. */
  readonly nonce?: Buffer;
}

function encodeOptionValue(value: CertificateOptionValue): Buffer {
  if (value === true) return Buffer.alloc(0);
  return typeof value === "string" ? new SshWriter().string(value).toBuffer() : value;
}

function encodeOptions(options: Readonly<Record<string, CertificateOptionValue>> = {}): Buffer {
  const names = Object.keys(options).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const writer = new SshWriter();
  for (const name of names) writer.string(name).string(encodeOptionValue(options[name] ?? true));
  return writer.toBuffer();
}

function encodePrincipals(principals: readonly string[]): Buffer {
  const writer = new SshWriter();
  for (const principal of principals) writer.string(principal);
  return writer.toBuffer();
}

/** The public key fields of a key blob, without its leading type name. */
function keyFields(key: SshPublicKey): Buffer {
  const reader = new SshReader(key.blob);
  reader.string();
  return key.blob.subarray(reader.offset);
}

function checkUint64(value: bigint, what: string): void {
  if (value < 0n || value > VALID_FOREVER) throw sshFormatError(`${what} is out of range`);
}

/** Builds a certificate blob and signs it with `caKey` (options sorted by name). */
export function encodeCertificate(fields: CertificateFields, caKey: SshPrivateKey): Buffer {
  const algorithm = `${fields.key.type}-cert-v01@openssh.com`;
  if (keyAlgorithmForCertificateType(algorithm) === undefined) {
    throw sshFormatError(`cannot certify key type ${quoteName(fields.key.type)}`);
  }
  checkUint64(fields.serial, "serial");
  checkUint64(fields.validAfter, "valid after");
  checkUint64(fields.validBefore, "valid before");
  const signedData = new SshWriter()
    .string(algorithm)
    .string(fields.nonce ?? randomBytes(32))
    .raw(keyFields(fields.key))
    .uint64(fields.serial)
    .uint32(fields.type === "user" ? 1 : 2)
    .string(fields.keyId)
    .string(encodePrincipals(fields.principals))
    .uint64(fields.validAfter)
    .uint64(fields.validBefore)
    .string(encodeOptions(fields.criticalOptions))
    .string(encodeOptions(fields.extensions))
    .string(Buffer.alloc(0))
    .string(caKey.public.blob)
    .toBuffer();
  return new SshWriter().raw(signedData).string(signSsh(caKey, signedData)).toBuffer();
}
