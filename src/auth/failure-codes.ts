// The closed set of reasons a user certificate is refused, in the order the
// checks run (src/auth/certificate-check.ts). Audit events carry these codes;
// a registry test keeps this table, the type and the checks in step.

export const AUTH_FAILURE_CODES = {
  not_a_certificate: "the key is not an OpenSSH certificate of a supported type",
  malformed: "the certificate blob or one of its options does not parse",
  algorithm_mismatch: "the advertised key algorithm does not match the certificate blob",
  untrusted_ca: "the certificate is signed by a key that is not a trusted user CA",
  bad_ca_signature: "the CA signature over the certificate does not verify",
  not_user_certificate: "the certificate is a host certificate",
  not_yet_valid: "the certificate's validity starts in the future (beyond the clock skew)",
  expired: "the certificate's validity has ended (beyond the clock skew)",
  no_principals: "the certificate names no principal (OpenSSH would accept it for anyone)",
  ambiguous_principals: "the certificate names more than one principal",
  unknown_critical_option: "the certificate carries a critical option Portcullis does not enforce",
  source_address_mismatch: "the client address is outside the certificate's source-address list",
  revoked: "the certificate's serial or key id is on the revocation list",
  bad_signature: "the session signature does not verify with the certified key",
} as const satisfies Record<string, string>;

export type AuthFailureCode = keyof typeof AUTH_FAILURE_CODES;

export function isAuthFailureCode(value: string): value is AuthFailureCode {
  return Object.hasOwn(AUTH_FAILURE_CODES, value);
}
