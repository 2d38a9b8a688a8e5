// How a session ended, as a small fixed set for the `outcome` label: the
// free-text `reason` of `session.end` (src/ssh/connection.ts and the modules
// that end sessions) mapped by its shape. A reason no pattern knows is
// `other`; `denied` (refused before reaching a target) comes from
// `session.denied`, not from here.

export const SESSION_OUTCOMES = [
  "client_closed",
  "target_closed",
  "time_limit",
  "grant_ended",
  "signal",
  "shutdown",
  "error",
  "other",
  "denied",
] as const;

export type SessionOutcome = (typeof SESSION_OUTCOMES)[number];

const PATTERNS: ReadonlyArray<readonly [RegExp, SessionOutcome]> = [
  [/^client closed the connection$/, "client_closed"],
  [/^connection to .* closed$/, "target_closed"],
  [/^session time limit reached/, "time_limit"],
  [/^the access grant .* (?:expired|was revoked)$/, "grant_ended"],
  [/\(signal [^)]*\)$/, "signal"],
  [/shutting down|shutdown/i, "shutdown"],
  [/^connection error/, "error"],
];

/** The outcome of a `session.end` with this `reason` (absent: a normal close by the client). */
export function sessionOutcome(reason: unknown): SessionOutcome {
  if (reason === undefined) return "client_closed";
  if (typeof reason !== "string") return "other";
  return PATTERNS.find(([pattern]) => pattern.test(reason))?.[1] ?? "other";
}
