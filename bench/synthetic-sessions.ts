// Synthetic sessions for the index and viewer benchmarks: session n's
// identity (user, target, start time), its commands (one in twenty denied)
// and its signals (one session in ten raises one to three), the same for
// every benchmark that fills an index.

export const COMMANDS_PER_SESSION = 8;
const USERS = 200;
const TARGETS = 50;
/** The start of session 0. */
export const SYNTHETIC_T0 = Date.parse("2026-01-01T00:00:00Z");
const LINES = [
  "ls -la /var/log",
  "journalctl -u nginx --since today",
  "systemctl restart nginx",
  "cat /etc/os-release",
  "psql -c 'select count(*) from orders'",
  "kubectl get pods -n payments",
  "tail -f /var/log/syslog",
  "rm -rf /tmp/build-cache",
];

/** One session in this many raises signals. */
export const SIGNAL_EVERY = 10;
const SIGNAL_RULES = [
  { rule: "disable-audit", source: "policy" },
  { rule: "credential-access", source: "policy" },
  { rule: "first-target", source: "behaviour" },
  { rule: "off-hours", source: "behaviour" },
  { rule: "data-staging", source: "policy" },
];

export interface SyntheticSession {
  /** The fields every event of the session carries. */
  readonly base: {
    session: string;
    user: string;
    source_ip: string;
    target: string;
    login: string;
  };
  /** ms since the epoch; a session a minute. */
  readonly start: number;
  readonly commands: readonly { time: number; fields: Record<string, unknown> }[];
  /** `signal` events (scores 10–50, session score their sum: no decay within seconds). */
  readonly signals: readonly { time: number; fields: Record<string, unknown> }[];
}

export function syntheticSession(n: number, userDomain = ""): SyntheticSession {
  const base = {
    session: `s${String(n).padStart(7, "0")}`,
    user: `user${n % USERS}${userDomain}`,
    source_ip: "192.0.2.10",
    target: `host${n % TARGETS}`,
    login: "ops",
  };
  const start = SYNTHETIC_T0 + n * 60_000;
  const commands = Array.from({ length: COMMANDS_PER_SESSION }, (_, c) => {
    const deny = (n * COMMANDS_PER_SESSION + c) % 20 === 0;
    return {
      time: start + 1_000 * (c + 1),
      fields: {
        ...base,
        line: `${LINES[(n + c) % LINES.length]} # ${n}`,
        decision: deny ? "deny" : "allow",
        ...(deny ? { rule: "baseline#1", reason: "recursive delete" } : {}),
        risk: deny ? 80 : 5,
      },
    };
  });
  return { base, start, commands, signals: syntheticSignals(n, base, start) };
}

function syntheticSignals(n: number, base: SyntheticSession["base"], start: number) {
  if (n % SIGNAL_EVERY !== 0) return [];
  let sessionScore = 0;
  return Array.from({ length: 1 + ((n / SIGNAL_EVERY) % 3) }, (_, i) => {
    const { rule, source } = SIGNAL_RULES[
      (n / SIGNAL_EVERY + i) % SIGNAL_RULES.length
    ] as (typeof SIGNAL_RULES)[number];
    const score = 10 * (1 + ((n / SIGNAL_EVERY + i) % 5));
    sessionScore += score;
    return {
      time: start + 1_000 * (i + 1) + 500,
      fields: {
        ...base,
        rule,
        source,
        score,
        session_score: sessionScore,
        reason: `${rule} (synthetic ${n})`,
        evidence: { line: `${LINES[(n + i) % LINES.length]} # ${n}` },
      },
    };
  });
}
