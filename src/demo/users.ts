// The demo's people: who signs in at the embedded identity provider, in which
// group, and what the demo policy lets each of them do. Passwords are drawn
// at random for every run and printed in the demo banner.

import { randomBytes } from "node:crypto";
import type { DemoUser } from "../idp/index.js";

export type DemoGroup = "ops" | "auditors" | "approvers";

export interface DemoPersona {
  /** The sign-in name at the identity provider. */
  readonly username: string;
  readonly group: DemoGroup;
  readonly role: string;
  /** One line for the banner: what the demo policy lets this user do. */
  readonly can: string;
}

/** A persona with this run's password, as printed and as the identity provider knows it. */
export interface DemoAccount extends DemoPersona {
  readonly password: string;
  /** The certificate identity (key id and principal): the ID token's verified email. */
  readonly email: string;
}

export const DEMO_PERSONAS: readonly DemoPersona[] = [
  {
    username: "alice",
    group: "ops",
    role: "operator",
    can: "shell and commands; destructive ones blocked, sudo warned, service restarts need approval",
  },
  {
    username: "audrey",
    group: "auditors",
    role: "auditor",
    can: "read-only commands (ls, cat, ps, df, …); anything else blocked",
  },
  {
    username: "bob",
    group: "approvers",
    role: "approver",
    can: "shell and commands with the baseline rules; approves what alice's rules hold",
  },
];

const EMAIL_DOMAIN = "example.com";

function randomPassword(): string {
  return randomBytes(9).toString("base64url");
}

/** The personas with fresh passwords. */
export function demoAccounts(): DemoAccount[] {
  return DEMO_PERSONAS.map((persona) => ({
    ...persona,
    password: randomPassword(),
    email: `${persona.username}@${EMAIL_DOMAIN}`,
  }));
}

/** What the embedded identity provider needs to sign them in. */
export function identityProviderUsers(accounts: readonly DemoAccount[]): DemoUser[] {
  return accounts.map((account) => ({
    username: account.username,
    password: account.password,
    email: account.email,
    groups: [account.group],
  }));
}
