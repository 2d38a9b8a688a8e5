// False positives of the behavioural signals: a seeded population of benign
// users (habits: usual targets, office hours, networks, download sizes,
// slips the policy denies, approvals, kills of stuck workers; some on call at
// night) works for 60 days. Every session of the last 30 days is judged like
// the bastion judges it: buildBaseline over the user's earlier sessions,
// startSignals, a BehaviourTracker fed the lines as the real policy engine
// decides them (extractCommands, decideCommandLine) and the download total,
// and a RiskScore. Prints, per behaviour setting (min_history, lookback,
// business hours on or off, the VPN listed as one network), the share of
// sessions raising each signal and reaching the alert threshold, and writes
// bench/results/signals-behaviour-<timestamp>.json.
// Usage: npm run build && node dist/bench/signals-behaviour.js [--seed N] [--users N]

import { parseArgs } from "node:util";
import { parseCidr } from "../src/policy/cidr.js";
import type { LineVerdict } from "../src/policy/command-types.js";
import { decideCommandLine } from "../src/policy/decide.js";
import { parsePolicyFiles } from "../src/policy/parse.js";
import { parseHours, type Schedule } from "../src/policy/schedule.js";
import { DEFAULT_BEHAVIOUR } from "../src/policy/schema.js";
import { extractCommands } from "../src/policy/shell/index.js";
import type { BehaviourSettings, Policy, SignalHit } from "../src/policy/types.js";
import { buildBaseline } from "../src/signals/baseline.js";
import { BehaviourTracker, startSignals } from "../src/signals/behaviour.js";
import { RiskScore } from "../src/signals/score.js";
import type { HistorySession } from "../src/store/types.js";
import { targetYaml } from "../test/policy/fixtures.js";
import { machine, seededRandom, writeResult } from "./results-file.js";

const DAYS = 60;
const FIRST_JUDGED_DAY = 30; // days 31–60, zero-based
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Monday, day 1 of the simulation (UTC: the business hours' zone). */
const T0 = Date.parse("2026-09-07T00:00:00Z");
const THRESHOLD = 100;
const HALF_LIFE_MS = 30 * 60_000;
const BUSINESS_HOURS: Schedule = {
  days: ["mon", "tue", "wed", "thu", "fri"],
  hours: parseHours("08:00-18:00"),
  tz: "UTC",
};

const { values: options } = parseArgs({
  options: {
    seed: { type: "string", default: "20261122" },
    users: { type: "string", default: "200" },
  },
});
const SEED = Number(options.seed);
const USERS = Number(options.users);
const random = seededRandom(SEED);

// ── random helpers ──────────────────────────────────────────────────────

const between = (low: number, high: number) => low + random() * (high - low);
const int = (below: number) => Math.floor(random() * below);
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
const chance = (p: number) => random() < p;
/** A standard normal draw (Box–Muller). */
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
function poisson(mean: number): number {
  let count = 0;
  for (let p = random(); p > Math.exp(-mean); p *= random()) count++;
  return count;
}
/** `count` distinct items (fewer when there are fewer). */
function sample<T>(items: readonly T[], count: number): T[] {
  const rest = [...items];
  return Array.from(
    { length: Math.min(count, rest.length) },
    () => rest.splice(int(rest.length), 1)[0] as T,
  );
}
/** Zipf-like: index 0 most often. */
const favourite = <T>(items: readonly T[]): T =>
  items[Math.min(items.length - 1, Math.floor(items.length * random() ** 2))] as T;

// ── the fleet and its policy ────────────────────────────────────────────

type Kind = "web" | "db" | "platform";
interface Host {
  readonly name: string;
  readonly kind: Kind;
  readonly labels: string;
  /** The access entry whose rulesets decide its lines. */
  readonly entry: "prod" | "db" | "staging";
}

const host = (name: string, kind: Kind, labels: string, entry: Host["entry"]): Host => ({
  name,
  kind,
  labels,
  entry,
});
const numbered = (prefix: string, count: number, make: (name: string) => Host) =>
  Array.from({ length: count }, (_, i) => make(`${prefix}${i + 1}`));

const FLEET: readonly Host[] = [
  ...numbered("web", 8, (n) => host(n, "web", "{ env: prod, team: web }", "prod")),
  ...numbered("web-stg", 3, (n) => host(n, "web", "{ env: staging, team: web }", "staging")),
  ...numbered("db", 4, (n) => host(n, "db", "{ env: prod, team: data }", "db")),
  ...numbered("db-stg", 1, (n) => host(n, "db", "{ env: staging, team: data }", "staging")),
  ...numbered("k8s", 6, (n) => host(n, "platform", "{ env: prod, team: platform }", "prod")),
  ...numbered("build", 3, (n) => host(n, "platform", "{}", "staging")),
];
const HOSTS = new Map(FLEET.map((h) => [h.name, h]));

/** The example policy's rulesets, trimmed: prod changes need approval, the databases are an allow-list. */
const POLICY_YAML = `
access:
  - { name: prod, subjects: { groups: [ops] }, targets: { labels: { env: prod } }, commands: [baseline, prod-changes] }
  - { name: db, subjects: { groups: [ops] }, targets: { labels: { team: data } }, commands: [baseline, dba-readonly] }
  - { name: staging, subjects: { groups: [ops] }, targets: { names: [${FLEET.map((h) => h.name).join(", ")}] }, commands: [baseline] }
rulesets:
  baseline:
    default: allow
    rules:
      - { deny: ["rm -r /", "rm -R /"], reason: recursive delete of /, risk: 100 }
      - { deny: ["shutdown", "reboot", "halt", "poweroff"], reason: stopping the machine, risk: 90 }
      - { deny: { regex: '^history\\s+-[cdw]' }, reason: tampering with shell history, risk: 70 }
      - { warn: "sudo", reason: privileged command, risk: 20 }
  prod-changes:
    default: allow
    rules:
      - { approve: ["systemctl restart *", "systemctl stop *"], reason: service restarts, approvers: { groups: [leads] }, risk: 40 }
      - { warn: ["kill", "pkill", "killall"], reason: killing processes on production, risk: 30 }
  dba-readonly:
    default: deny
    rules:
      - allow: ["systemctl status", "journalctl", "df", "du", "free", "uptime", "ps", "top -b", "ls", "pg_lsclusters"]
`;

function fleetPolicy(): Policy {
  const targets = FLEET.map((h) => targetYaml(h.name, { labels: h.labels })).join("\n");
  return parsePolicyFiles([
    { name: "00-targets.yaml", text: `targets:\n${targets}\n` },
    { name: "10-rules.yaml", text: POLICY_YAML },
  ]);
}

// ── what users type ─────────────────────────────────────────────────────

const SERVICE: Readonly<Record<Kind, string>> = {
  web: "nginx",
  db: "postgresql",
  platform: "kubelet",
};
const ROUTINE: Readonly<Record<Kind, readonly string[]>> = {
  web: [
    "uptime",
    "df -h",
    "free -m",
    "systemctl status nginx",
    "journalctl -u nginx -n 200",
    "tail -n 200 /var/log/nginx/error.log",
    "ps aux | grep php-fpm",
    "ls -la /srv/app/releases",
    "cat /etc/nginx/sites-enabled/app.conf",
    "git -C /srv/app log -5 --oneline",
    "sudo tail -n 100 /var/log/syslog",
    "curl -sI http://localhost/healthz",
  ],
  db: [
    "uptime",
    "df -h /var/lib/postgresql",
    "free -m",
    "systemctl status postgresql",
    "journalctl -u postgresql -n 100",
    "ps aux",
    "ls -la /var/lib/postgresql/16/main",
    "pg_lsclusters",
    "du -sh /var/lib/postgresql/16/main/base",
    "top -b -n 1",
  ],
  platform: [
    "uptime",
    "df -h",
    "systemctl status kubelet",
    "journalctl -u kubelet --since '1 hour ago'",
    "crictl ps",
    "ls /etc/kubernetes/manifests",
    "sudo crictl logs --tail 100 etcd",
    "free -m",
    "ip -br addr",
  ],
};
/** Slips the policy denies, each with the line a user types next when they notice (if any). */
const SLIPS: Readonly<Record<Kind, readonly (readonly [string, string?])[]>> = {
  web: [
    ["rm -r / srv/app/releases/old", "rm -r /srv/app/releases/old"],
    ["sudo reboot"],
    ["history -c"],
  ],
  db: [
    ["top", "top -b -n 1"],
    ["ps aux | grep postgres", "ps aux"],
    ["tail -n 100 /var/log/postgresql/postgresql-16-main.log", "journalctl -u postgresql -n 100"],
    ["sytemctl status postgresql", "systemctl status postgresql"],
    ["psql -c 'select now()'"],
  ],
  platform: [["rm -r / tmp/build-cache", "rm -r /tmp/build-cache"], ["sudo reboot"]],
};

// ── users and their habits ──────────────────────────────────────────────

type Shift = "office" | "early" | "late" | "on-call";
interface User {
  readonly name: string;
  readonly shift: Shift;
  readonly kind: Kind;
  /** Usual targets, most used first. */
  readonly targets: readonly string[];
  /** Mean start of the working day, hours UTC. */
  readonly dayStart: number;
  readonly sessionsPerDay: number;
  /** On-call users are on duty one week in four: this one (0–3). */
  readonly dutyWeek: number;
  /** Their office /24 and, for VPN users, the share of sessions over the VPN. */
  readonly office: string;
  readonly vpnShare: number;
  readonly linesPerSession: number;
  readonly slipRate: number;
  readonly downloadShare: number;
  readonly downloadMedian: number;
  /** A first day of a 10-day absence, or none. */
  readonly awayFrom?: number;
}

const OFFICES = ["10.1.10", "10.1.20", "10.2.5"];
/** The VPN hands out addresses from a /22: four /24 networks. */
const VPN_POOL = "10.8.0.0/22";
const VPN = ["10.8.0", "10.8.1", "10.8.2", "10.8.3"];
const SHIFT_START: Readonly<Record<Shift, () => number>> = {
  office: () => between(8, 10),
  early: () => between(6, 7.5),
  late: () => between(11, 12.5),
  "on-call": () => between(8, 10),
};

function newUser(index: number): User {
  const roll = random();
  const shift: Shift =
    roll < 0.65 ? "office" : roll < 0.8 ? "early" : roll < 0.9 ? "late" : "on-call";
  const kind = pick<Kind>(["web", "web", "db", "platform"]);
  const team = FLEET.filter((h) => h.kind === kind).map((h) => h.name);
  const targets = sample(team, 1 + int(4));
  return {
    name: `user${index}@example.com`,
    shift,
    kind,
    targets,
    dayStart: SHIFT_START[shift](),
    sessionsPerDay: between(0.4, 3),
    dutyWeek: int(4),
    office: pick(OFFICES),
    vpnShare: chance(0.6) ? between(0.1, 0.6) : 0,
    linesPerSession: between(3, 12),
    slipRate: between(0.002, 0.03),
    downloadShare: between(0.05, 0.5),
    downloadMedian: Math.exp(between(Math.log(10_000), Math.log(30_000_000))),
    ...(chance(0.25) ? { awayFrom: int(DAYS - 10) } : {}),
  };
}

// ── sessions ────────────────────────────────────────────────────────────

interface Line {
  readonly atMs: number;
  readonly text: string;
  readonly verdict: LineVerdict;
}
interface Session extends HistorySession {
  readonly user: User;
  readonly target: string;
  readonly sourceIp: string;
  readonly lines: readonly Line[];
  readonly endMs: number;
}

/** Session start times (ms) of a user's day: office days, weekend slips, on-call nights and weekends. */
function startsOf(user: User, day: number): number[] {
  if (user.awayFrom !== undefined && day >= user.awayFrom && day < user.awayFrom + 10) return [];
  const weekend = day % 7 >= 5;
  const onDuty = user.shift === "on-call" && Math.floor(day / 7) % 4 === user.dutyWeek;
  const hours: number[] = [];
  if (!weekend) {
    const start = user.dayStart + normal() * 0.75;
    for (let n = poisson(user.sessionsPerDay); n > 0; n--) hours.push(start + between(0, 9));
  } else if (chance(0.03)) hours.push(between(10, 16));
  if (onDuty && chance(0.4)) hours.push(between(0, 6)); // paged at night
  if (onDuty && weekend && chance(0.5)) hours.push(between(8, 22));
  return hours.map((hour) => T0 + day * DAY_MS + Math.min(hour, 23.99) * HOUR_MS);
}

function sourceIp(user: User): string {
  if (chance(0.02)) return `198.51.${int(256)}.${1 + int(254)}`; // travel: a hotel, a conference
  const network = chance(user.vpnShare) ? pick(VPN) : user.office;
  return `${network}.${1 + int(254)}`;
}

/** The lines of a session, as typed: routine work with slips, an approval and a cleanup now and then. */
function typedLines(user: User, kind: Kind): string[] {
  const lines: string[] = [];
  for (let n = 1 + poisson(user.linesPerSession - 1); n > 0; n--) {
    if (chance(user.slipRate)) {
      const [slip, fix] = pick(SLIPS[kind]);
      lines.push(slip);
      if (fix !== undefined && chance(0.7)) lines.push(fix);
    } else lines.push(pick(ROUTINE[kind]));
  }
  const service = SERVICE[kind];
  if (kind !== "db" && chance(0.05)) {
    lines.push(`sudo systemctl restart ${service}`);
    for (let n = poisson(1.5); n > 0; n--) lines.push(`systemctl status ${service}`);
  }
  if (kind !== "db" && chance(0.02)) {
    for (let n = 2 + int(5); n > 0; n--) lines.push(`kill ${1000 + int(30_000)}`);
  }
  return lines;
}

function newSession(policy: Policy, user: User, startMs: number, id: number): Session {
  const target = chance(0.01) ? pick(FLEET).name : favourite(user.targets);
  const h = HOSTS.get(target) as Host;
  const entry = policy.access.find((candidate) => candidate.name === h.entry);
  if (entry === undefined) throw new Error(`no access entry ${h.entry}`);
  let atMs = startMs;
  const lines = typedLines(user, h.kind).map((text) => {
    atMs += 2_000 + Math.round(-Math.log(1 - random()) * 30_000);
    return { atMs, text, verdict: decideCommandLine(policy, entry, extractCommands(text)) };
  });
  const bytesDown = chance(user.downloadShare)
    ? Math.round(user.downloadMedian * Math.exp(1.5 * normal()))
    : 0;
  return {
    id: `s${id}`,
    user,
    target,
    sourceIp: sourceIp(user),
    startedAt: new Date(startMs),
    bytesDown,
    lines,
    endMs: atMs + 60_000,
  };
}

function population(policy: Policy): Session[] {
  const users = Array.from({ length: USERS }, (_, i) => newUser(i));
  const sessions: Session[] = [];
  for (const user of users) {
    for (let day = 0; day < DAYS; day++) {
      for (const start of startsOf(user, day)) {
        sessions.push(newSession(policy, user, start, sessions.length));
      }
    }
  }
  return sessions.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
}

// ── judging ─────────────────────────────────────────────────────────────

interface Setting {
  readonly name: string;
  readonly behaviour: BehaviourSettings;
  readonly businessHours?: Schedule;
}

/** Every behavioural signal a session raises, and its peak score. */
function judge(policy: Policy, setting: Setting, session: Session, history: readonly Session[]) {
  const { behaviour, businessHours } = setting;
  const startMs = session.startedAt.getTime();
  const lookback = history.filter(
    (earlier) => earlier.startedAt.getTime() >= startMs - behaviour.lookback,
  );
  const labelsOf = (name: string) => policy.targets.get(name)?.labels;
  const baseline = buildBaseline(lookback, labelsOf, {
    lookbackMs: behaviour.lookback,
    networkGrouping: behaviour.new_network,
  });
  const target = policy.targets.get(session.target);
  if (target === undefined) throw new Error(`no target ${session.target}`);
  const { name: user } = session.user;
  const facts = {
    user,
    groups: ["ops"],
    target,
    login: "ops",
    sourceIp: session.sourceIp,
    at: session.startedAt,
  };
  const score = new RiskScore(HALF_LIFE_MS);
  const hits: SignalHit[] = [];
  const raise = (atMs: number, raised: readonly SignalHit[]) => {
    for (const hit of raised) score.add(atMs, hit.score);
    hits.push(...raised);
  };
  raise(startMs, startSignals(behaviour, businessHours, facts, baseline));
  const tracker = new BehaviourTracker(behaviour, baseline, user);
  for (const line of session.lines)
    raise(line.atMs, tracker.line(line.atMs, line.verdict, line.text));
  raise(session.endMs, tracker.transfer(session.bytesDown));
  return { rules: new Set(hits.map((hit) => hit.rule)), peak: score.peak };
}

const percent = (part: number, whole: number) => Math.round((part / whole) * 10000) / 100;

function measure(policy: Policy, setting: Setting, sessions: readonly Session[]) {
  const firstJudged = T0 + FIRST_JUDGED_DAY * DAY_MS;
  const seen = new Map<User, Session[]>();
  const perRule = new Map<string, number>();
  const perShift = new Map<
    Shift,
    { sessions: number; alerted: number; offHours: number; unusualHour: number }
  >();
  const alertedUsers = new Set<User>();
  let judged = 0;
  let flagged = 0;
  let alerted = 0;
  let amber = 0;
  let maxPeak = 0;
  for (const session of sessions) {
    const history = seen.get(session.user) ?? [];
    seen.set(session.user, history);
    const judgement =
      session.startedAt.getTime() >= firstJudged && judge(policy, setting, session, history);
    history.push(session);
    if (!judgement) continue;
    const { rules, peak } = judgement;
    judged++;
    if (rules.size > 0) flagged++;
    for (const rule of rules) perRule.set(rule, (perRule.get(rule) ?? 0) + 1);
    maxPeak = Math.max(maxPeak, peak);
    if (peak >= THRESHOLD / 2) amber++;
    if (peak >= THRESHOLD) {
      alerted++;
      alertedUsers.add(session.user);
    }
    const shift = perShift.get(session.user.shift) ?? {
      sessions: 0,
      alerted: 0,
      offHours: 0,
      unusualHour: 0,
    };
    shift.sessions++;
    if (peak >= THRESHOLD) shift.alerted++;
    if (rules.has("off-hours")) shift.offHours++;
    if (rules.has("unusual-hour")) shift.unusualHour++;
    perShift.set(session.user.shift, shift);
  }
  return {
    setting: setting.name,
    min_history: setting.behaviour.min_history,
    lookback_days: setting.behaviour.lookback / DAY_MS,
    business_hours: setting.businessHours !== undefined,
    sessions: judged,
    with_signal: flagged,
    percent_with_signal: percent(flagged, judged),
    per_signal: Object.fromEntries(
      [...perRule]
        .sort(([, a], [, b]) => b - a)
        .map(([rule, count]) => [rule, { sessions: count, percent: percent(count, judged) }]),
    ),
    /** Sessions the viewer shows amber (from half the threshold) or red. */
    reach_half_threshold: amber,
    percent_reach_half_threshold: percent(amber, judged),
    max_peak: Math.round(maxPeak),
    alerts: alerted,
    percent_alerts: percent(alerted, judged),
    alerts_per_day: Math.round((alerted / (DAYS - FIRST_JUDGED_DAY)) * 10) / 10,
    users_alerted: alertedUsers.size,
    per_shift: Object.fromEntries(
      [...perShift].map(([shift, s]) => [
        shift,
        {
          sessions: s.sessions,
          percent_off_hours: percent(s.offHours, s.sessions),
          percent_unusual_hour: percent(s.unusualHour, s.sessions),
          percent_alerts: percent(s.alerted, s.sessions),
        },
      ]),
    ),
  };
}

function setting(minHistory: number, lookbackDays: number, businessHours = true): Setting {
  const name = `min_history ${minHistory}, lookback ${lookbackDays}d${businessHours ? "" : ", no business hours"}`;
  const behaviour = {
    ...DEFAULT_BEHAVIOUR,
    min_history: minHistory,
    lookback: lookbackDays * DAY_MS,
  };
  return { name, behaviour, ...(businessHours ? { businessHours: BUSINESS_HOURS } : {}) };
}

/** The defaults, with the VPN's /22 listed as one network (`new_network.networks`). */
function vpnListed(): Setting {
  const defaults = setting(3, 30);
  const newNetwork = { ...defaults.behaviour.new_network, networks: [parseCidr(VPN_POOL)] };
  return {
    ...defaults,
    name: `${defaults.name}, VPN ${VPN_POOL} listed`,
    behaviour: { ...defaults.behaviour, new_network: newNetwork },
  };
}

const SETTINGS = [
  setting(3, 30),
  setting(3, 30, false),
  vpnListed(),
  setting(10, 30),
  setting(3, 14),
  setting(10, 14),
];

const policy = fleetPolicy();
const sessions = population(policy);
const results = SETTINGS.map((s) => measure(policy, s, sessions));
const lines = sessions.flatMap((session) => session.lines);
const denied = lines.filter((line) => line.verdict.decision === "deny").length;
const approvals = lines.filter((line) => line.verdict.decision === "approve").length;

console.log(machine());
console.log(
  `seed ${SEED}: ${USERS} users, ${sessions.length} sessions in ${DAYS} days (${lines.length} lines, ` +
    `${percent(denied, lines.length)} % denied, ${percent(approvals, lines.length)} % sent for approval); ` +
    `judged: days ${FIRST_JUDGED_DAY + 1}-${DAYS}, business hours mon-fri 08:00-18:00 UTC, threshold ${THRESHOLD}, half-life 30m`,
);
for (const r of results) {
  console.log(
    `\n${r.setting}: ${r.sessions} sessions, ${r.with_signal} with a signal (${r.percent_with_signal} %), ` +
      `${r.reach_half_threshold} reach ${THRESHOLD / 2} (${r.percent_reach_half_threshold} %), ` +
      `${r.alerts} reach ${THRESHOLD} (${r.percent_alerts} %, ${r.alerts_per_day} a day, ${r.users_alerted} users; highest ${r.max_peak})`,
  );
  for (const [rule, { sessions: count, percent: share }] of Object.entries(r.per_signal)) {
    console.log(
      `  ${rule.padEnd(18)} ${String(count).padStart(5)}  ${String(share).padStart(6)} %`,
    );
  }
}
console.log("\nper shift (first setting): sessions, off-hours %, unusual-hour %, alerts %");
for (const [shift, s] of Object.entries(results[0]?.per_shift ?? {})) {
  console.log(
    `  ${shift.padEnd(8)} ${String(s.sessions).padStart(5)} ${String(s.percent_off_hours).padStart(7)} ${String(s.percent_unusual_hour).padStart(7)} ${String(s.percent_alerts).padStart(7)}`,
  );
}

const result = {
  date: new Date().toISOString(),
  machine: machine(),
  seed: SEED,
  users: USERS,
  days: DAYS,
  judged_days: `${FIRST_JUDGED_DAY + 1}-${DAYS}`,
  sessions: sessions.length,
  lines: lines.length,
  percent_lines_denied: percent(denied, lines.length),
  percent_lines_approval: percent(approvals, lines.length),
  threshold: THRESHOLD,
  half_life: "30m",
  business_hours: "mon-fri 08:00-18:00 UTC",
  settings: results,
};
console.log(`written ${writeResult("signals-behaviour", result)}`);
