// Reading the SSH user name as a target choice (SPEC §5.2): `web1` (the
// target's default login) or `deploy@web1`.

export interface TargetSelector {
  readonly target: string;
  readonly login?: string;
}

/**
 * Splits at the last `@`: `deploy@web1` → login deploy, target web1. A name
 * with an empty side (`@web1`, `deploy@`) is kept whole as the target name,
 * which no valid target matches.
 */
export function parseTargetSelector(sshUsername: string): TargetSelector {
  const at = sshUsername.lastIndexOf("@");
  const login = sshUsername.slice(0, at);
  const target = sshUsername.slice(at + 1);
  if (at === -1 || login === "" || target === "") return { target: sshUsername };
  return { target, login };
}
