// From a verified token's claims to a certificate identity, per issuer: the
// required claims, the username claim (with `email_verified` when it is
// `email`), and the groups (renamed, filtered, plus the issuer's static
// groups). Pure; refusals name claims, never their values.

import type { TrustedIssuer } from "./issuers.js";
import { reject } from "./rejection.js";

export interface MappedIdentity {
  readonly username: string;
  readonly groups: readonly string[];
}

type Claims = Readonly<Record<string, unknown>>;

const MAX_NAME_LENGTH = 256;
const CONTROL_CHARACTERS = /\p{Cc}/u;

/** What a certificate key id, principal or `groups@portcullis` entry can hold. */
function isCertificateName(name: string): boolean {
  return (
    name !== "" &&
    name.length <= MAX_NAME_LENGTH &&
    name === name.trim() &&
    !name.includes(",") &&
    !CONTROL_CHARACTERS.test(name)
  );
}

function checkRequiredClaims(claims: Claims, issuer: TrustedIssuer): void {
  for (const [name, accepted] of issuer.requiredClaims) {
    const value = claims[name];
    if (typeof value !== "string" || !accepted.includes(value)) {
      throw reject("claim_mismatch", `claim "${name}" does not have an accepted value`);
    }
  }
}

function username(claims: Claims, issuer: TrustedIssuer): string {
  const claim = issuer.usernameClaim;
  const value = claims[claim];
  if (typeof value !== "string" || value === "") {
    throw reject("missing_claim", `the username claim "${claim}" is missing or not a string`);
  }
  if (claim === "email" && claims.email_verified !== true) {
    throw reject("email_not_verified", "the email address is not verified (email_verified)");
  }
  const name = `${issuer.usernamePrefix}${value}`;
  if (!isCertificateName(name)) {
    throw reject(
      "bad_username",
      `the username claim "${claim}" cannot be a certificate principal (commas, control characters or surrounding spaces)`,
    );
  }
  return name;
}

function tokenGroups(claims: Claims, issuer: TrustedIssuer): readonly string[] {
  const claim = issuer.groupsClaim;
  if (claim === undefined) return [];
  const value = claims[claim];
  if (value === undefined) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((group) => typeof group === "string")) return value;
  throw reject("bad_groups", `the groups claim "${claim}" is not a list of strings`);
}

function groups(claims: Claims, issuer: TrustedIssuer): string[] {
  const renamed = tokenGroups(claims, issuer).map((group) => issuer.groupMap.get(group) ?? group);
  const allowed = issuer.allowedGroups;
  const kept = allowed === undefined ? renamed : renamed.filter((group) => allowed.has(group));
  const all = [...new Set([...kept, ...issuer.staticGroups])];
  if (!all.every(isCertificateName)) {
    throw reject(
      "bad_groups",
      "a group name cannot go into a certificate (commas, control characters or surrounding spaces)",
    );
  }
  return all;
}

/** The user and groups a verified token stands for; throws TokenRejectedError. */
export function mapClaims(claims: Claims, issuer: TrustedIssuer): MappedIdentity {
  checkRequiredClaims(claims, issuer);
  return { username: username(claims, issuer), groups: groups(claims, issuer) };
}
