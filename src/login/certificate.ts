// The user certificate login receives: checked before it is installed (a
// user certificate for our key, signed by a CA the server publishes, with
// a valid signature), written beside the key, and summarised for people
// (identity, groups, principals, validity) for login and `--status`.

import { readFileSync } from "node:fs";
import { secondsToDate } from "../auth/validity.js";
import {
  GROUPS_EXTENSION,
  optionString,
  parseCertificateLine,
  type SshCertificate,
} from "../openssh/certificate.js";
import { parsePublicKeyLine } from "../openssh/keys.js";
import { verifySshSignature } from "../openssh/signature.js";
import { errorMessage, PortcullisError } from "../util/errors.js";

export interface CertificateSummary {
  readonly keyId: string;
  readonly principals: readonly string[];
  readonly groups: readonly string[];
  readonly serial: bigint;
  readonly validAfter: Date;
  readonly validBefore: Date;
}

export function summarise(certificate: SshCertificate): CertificateSummary {
  const groups = certificate.extensions.get(GROUPS_EXTENSION);
  return {
    keyId: certificate.keyId,
    principals: certificate.principals,
    groups: groups === undefined ? [] : optionString(groups).split(",").filter(Boolean),
    serial: certificate.serial,
    validAfter: secondsToDate(certificate.validAfter),
    validBefore: secondsToDate(certificate.validBefore),
  };
}

function invalid(reason: string): PortcullisError {
  return new PortcullisError(
    "ERR_LOGIN_CERTIFICATE",
    `the server sent an unusable certificate: ${reason}`,
  );
}

/** Parses the server's certificate line and checks it belongs to us and to a published CA. */
export function acceptCertificate(
  line: string,
  publicKeyLine: string,
  caPublicKeyLines: readonly string[],
): SshCertificate {
  let certificate: SshCertificate;
  try {
    certificate = parseCertificateLine(line);
  } catch (error) {
    throw invalid(errorMessage(error));
  }
  if (certificate.type !== "user") throw invalid("it is not a user certificate");
  if (!certificate.key.blob.equals(parsePublicKeyLine(publicKeyLine).blob)) {
    throw invalid("it certifies another key");
  }
  const signer = caPublicKeyLines
    .map((caLine) => parsePublicKeyLine(caLine))
    .find((ca) => ca.blob.equals(certificate.signatureKey.blob));
  if (signer === undefined) throw invalid("it is not signed by a user CA the server publishes");
  if (!verifySshSignature(signer, certificate.signature, certificate.signedData)) {
    throw invalid("its CA signature does not verify");
  }
  return certificate;
}

/** The certificate at `path`, or undefined when there is none. */
export function readCertificateFile(path: string): SshCertificate | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new PortcullisError(
      "ERR_LOGIN_CERTIFICATE",
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`,
    );
  }
  try {
    return parseCertificateLine(text);
  } catch (error) {
    throw new PortcullisError(
      "ERR_LOGIN_CERTIFICATE",
      `${path} is not a certificate: ${errorMessage(error)}`,
    );
  }
}
