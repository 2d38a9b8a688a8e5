// Who is looking: the signed-in person, their roles (from their groups and
// the `viewer` config section) and the one rule for which sessions they may
// see. Pure; every page, the cast route and the API ask `canSeeSession`.

export interface RoleGroups {
  readonly auditorGroups: readonly string[];
  readonly approverGroups: readonly string[];
}

export interface Roles {
  /** Sees every session. */
  readonly auditor: boolean;
  /** Gets the approvals queue. */
  readonly approver: boolean;
}

export interface Viewer {
  readonly user: string;
  readonly groups: readonly string[];
  readonly roles: Roles;
  /** The CSRF token for this page's forms. */
  readonly csrfToken: string;
}

export function rolesOf(groups: readonly string[], config: RoleGroups): Roles {
  const member = (names: readonly string[]) => names.some((name) => groups.includes(name));
  return { auditor: member(config.auditorGroups), approver: member(config.approverGroups) };
}

/** Auditors see every session; everyone else only sessions that are theirs. */
export function canSeeSession(viewer: Pick<Viewer, "user" | "roles">, owner: string | undefined) {
  return viewer.roles.auditor || (owner !== undefined && owner === viewer.user);
}
