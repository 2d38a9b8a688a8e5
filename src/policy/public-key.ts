// Structural validation of OpenSSH public key lines ("type base64 [comment]"),
// as pinned in policy (`host_key`, `host_ca`) and config (`ca.extra_trusted`):
// known type, canonical base64, and a wire blob whose fields match the type.
import { parsedString } from "../util/yaml-source.js";

export const PUBLIC_KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
] as const;

export type PublicKeyType = (typeof PUBLIC_KEY_TYPES)[number];

export interface PublicKey {
  readonly type: PublicKeyType;
  /** The key in SSH wire format (what the base64 field decodes to). */
  readonly blob: Buffer;
  readonly comment?: string;
}

/** Uncompressed EC point sizes (0x04 || X || Y) per curve. */
const EC_POINT_BYTES: Readonly<Record<string, number>> = {
  nistp256: 65,
  nistp384: 97,
  nistp521: 133,
};
const ED25519_KEY_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses `type base64 [comment]`; throws RangeError with a one-line reason. */
export function parsePublicKeyLine(line: string): PublicKey {
  const [type, data, ...commentWords] = line.trim().split(/\s+/);
  if (!isPublicKeyType(type)) {
    throw new RangeError(`unsupported key type (expected one of ${PUBLIC_KEY_TYPES.join(", ")})`);
  }
  if (data === undefined) throw new RangeError(`missing key data after "${type}"`);
  const blob = decodeBase64(data);
  checkBlob(type, blob);
  const comment = commentWords.join(" ");
  return comment === "" ? { type, blob } : { type, blob, comment };
}

/** The canonical `type base64` line, without comment. */
export function formatPublicKey(key: PublicKey): string {
  return `${key.type} ${key.blob.toString("base64")}`;
}

function isPublicKeyType(type: string | undefined): type is PublicKeyType {
  return (PUBLIC_KEY_TYPES as readonly (string | undefined)[]).includes(type);
}

function decodeBase64(data: string): Buffer {
  const blob = Buffer.from(data, "base64");
  if (!BASE64.test(data) || data.length % 4 !== 0 || blob.toString("base64") !== data) {
    throw new RangeError("key data is not valid base64");
  }
  return blob;
}

function checkBlob(type: PublicKeyType, blob: Buffer): void {
  const reader = new WireReader(blob, type);
  if (reader.string().toString("latin1") !== type) {
    throw new RangeError(`key data is not a ${type} key`);
  }
  if (type === "ssh-ed25519") {
    reader.string(ED25519_KEY_BYTES);
  } else if (type === "ssh-rsa") {
    reader.string(); // public exponent
    reader.string(); // modulus
  } else {
    const curve = reader.string().toString("latin1");
    if (`ecdsa-sha2-${curve}` !== type) throw new RangeError(`key data is not a ${type} key`);
    reader.string(EC_POINT_BYTES[curve]);
  }
  reader.end();
}

/** Reads SSH wire `string`s; any overrun or leftover byte is a malformed key. */
class WireReader {
  #offset = 0;
  readonly #blob: Buffer;
  readonly #type: string;

  constructor(blob: Buffer, type: string) {
    this.#blob = blob;
    this.#type = type;
  }

  string(expectedLength?: number): Buffer {
    if (this.#offset + 4 > this.#blob.length) this.#fail();
    const length = this.#blob.readUInt32BE(this.#offset);
    const start = this.#offset + 4;
    const isBadLength = expectedLength === undefined ? length === 0 : length !== expectedLength;
    if (isBadLength || start + length > this.#blob.length) this.#fail();
    this.#offset = start + length;
    return this.#blob.subarray(start, this.#offset);
  }

  end(): void {
    if (this.#offset !== this.#blob.length) this.#fail();
  }

  #fail(): never {
    throw new RangeError(`malformed ${this.#type} key data`);
  }
}

/** A public key line in YAML, validated and parsed. */
export const publicKeyLineSchema = parsedString(parsePublicKeyLine);
