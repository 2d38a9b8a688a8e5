// The embedded identity provider's users: their OIDC claims and the password
// check of the sign-in form. Demo and test data only; passwords are compared
// as SHA-256 digests in constant time.

import { createHash, timingSafeEqual } from "node:crypto";

export interface DemoUser {
  /** The subject (`sub`) and `preferred_username`. */
  readonly username: string;
  readonly password: string;
  readonly email?: string;
  /** Default true. */
  readonly email_verified?: boolean;
  readonly groups: readonly string[];
  /** Further claims for the ID token (e.g. a CI job's `repository`). */
  readonly claims?: Readonly<Record<string, string>>;
}

export interface DemoAccount {
  readonly accountId: string;
  claims(): Record<string, unknown>;
}

/** Every claim name the users carry beyond the standard ones (they join the `profile` scope). */
export function extraClaimNames(users: readonly DemoUser[]): string[] {
  return [...new Set(users.flatMap((user) => Object.keys(user.claims ?? {})))];
}

export function accountFor(user: DemoUser): DemoAccount {
  return {
    accountId: user.username,
    claims: () => ({
      ...user.claims,
      sub: user.username,
      preferred_username: user.username,
      name: user.username,
      ...(user.email === undefined
        ? {}
        : { email: user.email, email_verified: user.email_verified ?? true }),
      groups: [...user.groups],
    }),
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The user whose username and password both match, or undefined. */
export function authenticate(
  users: readonly DemoUser[],
  username: string,
  password: string,
): DemoUser | undefined {
  const user = users.find((candidate) => candidate.username === username);
  const expected = digest(user?.password ?? "\u0000 no such user");
  const matches = timingSafeEqual(expected, digest(password));
  return user !== undefined && matches ? user : undefined;
}
