// Command policy evaluation: a generated policy of 1,000 rules (many
// programs, option clusters, paths, `*` programs, regexes) and a corpus of
// generated realistic command lines (pipes, sudo, substitutions, redirects).
// Measures per-line time of extractCommands + decideCommandLine (and each
// alone, and deciding with the session's facts so that the shipped signal
// pack, policies/signals.yaml, is evaluated too): p50, p95, p99, lines/s; and
// reload time (parse + compile the policy).
// Prints a table and writes bench/results/policy-<timestamp>.json.
// Usage: npm run build && node dist/bench/policy.js [rounds]

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Extraction } from "../src/policy/command-types.js";
import { decideCommandLine, precompilePolicy } from "../src/policy/decide.js";
import { parsePolicyFiles } from "../src/policy/parse.js";
import { extractCommands } from "../src/policy/shell/index.js";
import type { AccessEntry, Policy, SessionFacts } from "../src/policy/types.js";
import { targetYaml } from "../test/policy/fixtures.js";
import { machine, seededRandom, writeResult } from "./results-file.js";

const RULE_COUNT = 1000;
const SIGNAL_PACK = fileURLToPath(new URL("../../policies/signals.yaml", import.meta.url));
const CORPUS_SIZE = 1000;

const random = seededRandom(20261122);
const serial = () => Math.floor(random() * 1000);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const PROGRAMS = [
  "rm",
  "cp",
  "mv",
  "chmod",
  "chown",
  "ln",
  "dd",
  "mkfs",
  "mount",
  "umount",
  "systemctl",
  "journalctl",
  "service",
  "kubectl",
  "docker",
  "podman",
  "helm",
  "git",
  "iptables",
  "nft",
  "apt",
  "apt-get",
  "yum",
  "dnf",
  "pip",
  "npm",
  "curl",
  "wget",
  "nc",
  "ssh",
  "scp",
  "rsync",
  "tar",
  "find",
  "sed",
  "awk",
  "psql",
  "mysql",
  "redis-cli",
  "crontab",
  "useradd",
  "userdel",
  "usermod",
  "passwd",
  "kill",
  "pkill",
  "killall",
  "shutdown",
  "reboot",
  "halt",
  "truncate",
  "shred",
  "tee",
  "vi",
  "vim",
  "nano",
  "less",
  "tail",
  "cat",
  "grep",
  "ls",
  "du",
  "df",
  "ps",
  "top",
  "ip",
  "ss",
  "tcpdump",
  "openssl",
  "aws",
  "gcloud",
  "terraform",
  "ansible",
  "make",
  "python3",
  "node",
  "java",
  "nginx",
  "certbot",
  "sysctl",
  "modprobe",
  "setenforce",
];
const OPTIONS = [
  "-r",
  "-f",
  "-rf",
  "-R",
  "-v",
  "-a",
  "-x",
  "-9",
  "-i",
  "--force",
  "--all",
  "--recursive",
  "--namespace=prod*",
  "--context=prod",
  "--no-preserve-root",
  "--hard",
  "-n",
];
const WORDS = [
  "restart",
  "stop",
  "delete",
  "drop",
  "push",
  "reset",
  "flush",
  "apply",
  "exec",
  "install",
  "remove",
  "purge",
  "prune",
  "destroy",
  "*",
  "*",
  "nginx",
  "postgres",
  "origin",
  "main",
];
const PATHS = [
  "/",
  "/etc",
  "/etc/shadow",
  "/etc/passwd",
  "/etc/sudoers",
  "/etc/ssh/*",
  "/var/lib/*",
  "/boot",
  "/dev/sda",
  "/dev/sd?",
  "/root/.ssh/*",
  "/srv/app/*",
  "/var/log/*.log",
  "/usr/bin/*",
  "/opt/ops/*",
  "/home/*/.bashrc",
  "/tmp/*",
];
const ACTIONS = ["deny", "deny", "deny", "approve", "warn", "allow"];

function wordRule(): string {
  const program = random() < 0.05 ? `/usr/bin/${pick(PROGRAMS)}` : pick(PROGRAMS);
  const words = [program];
  if (random() < 0.6) words.push(pick(OPTIONS));
  if (random() < 0.2) words.push(pick(OPTIONS));
  if (random() < 0.5) words.push(pick(WORDS));
  if (random() < 0.6) words.push(pick(PATHS));
  return words.join(" ");
}

function ruleYaml(index: number): string {
  const action = pick(ACTIONS);
  const roll = random();
  let pattern: string;
  if (roll < 0.05)
    pattern = `{ regex: '^${pick(PROGRAMS)}\\s+.*${pick(WORDS).replace("*", "x")}' }`;
  else if (roll < 0.06) pattern = JSON.stringify(`* ${pick(PATHS)}`);
  else if (roll < 0.2) pattern = JSON.stringify([wordRule(), wordRule()]);
  else pattern = JSON.stringify(wordRule());
  const extras = [
    random() < 0.3 ? `        reason: generated rule ${index}` : "",
    random() < 0.2 ? `        risk: ${Math.floor(random() * 100)}` : "",
    random() < 0.05 ? "        exact: true" : "",
  ].filter((line) => line !== "");
  return [`      - ${action}: ${pattern}`, ...extras].join("\n");
}

function rulesetYaml(name: string, defaultAction: string, count: number, first: number): string {
  const rules = Array.from({ length: count }, (_, offset) => ruleYaml(first + offset));
  return [`  ${name}:`, `    default: ${defaultAction}`, "    rules:", ...rules].join("\n");
}

function policyTexts(): { name: string; text: string }[] {
  const targets = ["targets:", targetYaml("web1", { labels: "{ env: prod }" })].join("\n");
  const rulesets = [
    "rulesets:",
    rulesetYaml("baseline", "allow", 500, 1),
    rulesetYaml("prod", "allow", 350, 501),
    rulesetYaml("audit", "allow", RULE_COUNT - 850, 851),
  ].join("\n");
  const access = [
    "access:",
    "  - name: ops-prod",
    "    subjects: { groups: [ops] }",
    "    targets: { names: [web1] }",
    "    commands: [baseline, prod, audit]",
  ].join("\n");
  return [
    { name: "00-targets.yaml", text: targets },
    { name: "10-rulesets.yaml", text: rulesets },
    { name: "20-access.yaml", text: access },
    { name: "signals.yaml", text: readFileSync(SIGNAL_PACK, "utf8") },
  ];
}

const LINE_TEMPLATES: readonly (() => string)[] = [
  () =>
    `sudo systemctl ${pick(["restart", "status", "reload", "stop"])} ${pick(["nginx", "postgresql", "redis", "app@2"])}`,
  () =>
    `ps aux | grep ${pick(["nginx", "java", "node"])}-${serial()} | grep -v grep | awk '{print $2}'`,
  () =>
    `tail -n ${Math.floor(random() * 500)} /var/log/${pick(["nginx/access.log", "syslog", "app/app.log"])} | grep -v " 200 "`,
  () =>
    `kubectl --namespace=${pick(["prod", "staging", "prod-eu"])} ${pick(["get pods -o wide", "delete pod api-7d9f", "logs -f deploy/api", "rollout restart deploy/api"])}`,
  () =>
    `cd /srv/app && git ${pick(["pull --rebase", "status", "log --oneline -n 20", "push --force origin main"])} && ${pick(["npm ci", "make build", "true"])}`,
  () =>
    `echo "$(date -Is) ${pick(["deploy", "restart", "rollback"])} by $USER" >> /var/log/deploy.log`,
  () => `find /var/log -name '*.gz' -mtime +${Math.floor(random() * 90)} -exec rm -f {} \\;`,
  () => `for f in /etc/nginx/sites-enabled/*; do nginx -t -c "$f" || echo "bad $f"; done`,
  () =>
    `docker ps --filter name=app-${serial()} --format '{{.Names}}' | xargs -n1 docker ${pick(["restart", "logs --tail 5", "inspect"])}`,
  () =>
    `rm -rf ${pick(["/tmp/build-$(date +%s)", "./build", "/", "//", "/var/lib/app/cache/", "node_modules"])}`,
  () =>
    `sudo -u ${pick(["postgres", "www-data", "root"])} ${pick(["psql -c 'select 1'", "ls -la /var/www", "bash -c 'id; whoami'"])}`,
  () =>
    `tar czf /backup/${pick(["etc", "www", "db"])}-$(date +%F).tgz ${pick(["/etc", "/var/www", "/srv/db"])} 2>/dev/null`,
  () =>
    `journalctl -u ${pick(["nginx", "sshd", "app"])} --since "${Math.floor(random() * 24)} hours ago" --no-pager | tail -50`,
  () =>
    `curl -fsS https://example.com/${pick(["health", "status", "install.sh"])} ${pick(["| jq .", "| sh", "-o /tmp/out"])}`,
  () =>
    `chmod ${pick(["-R 755", "600", "+x", "-R 777"])} ${pick(["/srv/app", "/etc/shadow", "./run.sh", "/"])}`,
  () => `df -h /srv/vol${serial()} | sort -k5 -rn | head -${Math.floor(random() * 20) + 1}`,
  () => `du -sh /var/lib/${pick(["docker", "postgresql", "mysql"])}/* | sort -h | tail`,
  () =>
    `iptables -w ${serial()} ${pick(["-L -n -v", "-F", "-A INPUT -p tcp --dport 22 -j ACCEPT"])}`,
  () =>
    `timeout ${Math.floor(random() * 60) + 1} ${pick(["ping -c 3 10.0.0.1", "nc -zv db 5432", "curl -I http://localhost"])}`,
  () => `env -i PATH=/usr/bin ${pick(["ls /", "rm -r /srv/old", "cat /etc/os-release"])}`,
  () =>
    `grep -rn "${pick(["TODO", "password", "shutdown"])}" ${pick([".", "/etc", "/srv/app/src"])} | wc -l`,
  () => `(cd /opt/ops && ./deploy.sh ${pick(["prod", "staging"])}) > /tmp/deploy.log 2>&1 &`,
  () =>
    `cat /etc/${pick(["passwd", "shadow", "hosts", "os-release"])} /srv/data/f${serial()}.txt | ${pick(["wc -l", "head", "cut -d: -f1"])}`,
  () =>
    `if systemctl is-active --quiet --wait=${serial()} ${pick(["nginx", "app"])}; then echo up; else systemctl start ${pick(["nginx", "app"])}; fi`,
  () => `openssl x509 -in /etc/ssl/certs/${pick(["site", "api"])}-${serial()}.pem -noout -enddate`,
  () =>
    `/usr/bin/${pick(["rm", "dd", "ls", "python3"])} ${pick(["-rf /srv/tmp", "if=/dev/zero of=/dev/sda bs=1M", "-la", "-c 'print(1)'"])}`,
  () => `watch -n ${Math.floor(random() * 10) + 1} 'ss -tnp | grep :${serial()}'`,
  () => `mysql -u root -e "${pick(["show databases", "drop database app", "select now()"])}"`,
  () => `ssh ${pick(["db1", "web2"])} uptime; ssh ${pick(["db1", "web2"])} 'df -h /'`,
  () => `nice -n 10 rsync -a ${pick(["--delete", "--dry-run", ""])} /srv/app/ backup:/srv/app/`,
];

function corpus(): string[] {
  return Array.from({ length: CORPUS_SIZE }, () => pick(LINE_TEMPLATES)());
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

interface Timing {
  readonly p50_us: number;
  readonly p95_us: number;
  readonly p99_us: number;
  readonly max_us: number;
  readonly lines_per_s: number;
}

/** Times `work` on every line for `rounds` rounds (after one warm-up round). */
function timeLines<T>(lines: readonly T[], rounds: number, work: (line: T) => unknown): Timing {
  for (const line of lines) work(line);
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  for (let round = 0; round < rounds; round++) {
    for (const line of lines) {
      const before = process.hrtime.bigint();
      work(line);
      samples.push(Number(process.hrtime.bigint() - before) / 1000);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  samples.sort((a, b) => a - b);
  const round2 = (value: number) => Number(value.toFixed(2));
  return {
    p50_us: round2(percentile(samples, 0.5)),
    p95_us: round2(percentile(samples, 0.95)),
    p99_us: round2(percentile(samples, 0.99)),
    max_us: round2(samples[samples.length - 1] ?? 0),
    lines_per_s: Math.round(samples.length / seconds),
  };
}

const millis = (from: bigint, to: bigint) => Number(to - from) / 1e6;
const median = (values: readonly number[]) =>
  Number(
    percentile(
      [...values].sort((x, y) => x - y),
      0.5,
    ).toFixed(1),
  );

/** Parse + compile of the policy, `runs` times: medians of each part and the worst total. */
function timeReload(texts: { name: string; text: string }[], runs: number) {
  const parse: number[] = [];
  const compile: number[] = [];
  const total: number[] = [];
  let policy: Policy | undefined;
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    policy = parsePolicyFiles(texts);
    const parsed = process.hrtime.bigint();
    precompilePolicy(policy);
    const compiled = process.hrtime.bigint();
    parse.push(millis(started, parsed));
    compile.push(millis(parsed, compiled));
    total.push(millis(started, compiled));
  }
  if (policy === undefined) throw new Error("no reload run");
  const timing: ReloadTiming = {
    median: median(total),
    max: Number(Math.max(...total).toFixed(1)),
    parse_median: median(parse),
    compile_median: median(compile),
  };
  return { policy, timing };
}

interface ReloadTiming {
  readonly median: number;
  readonly max: number;
  readonly parse_median: number;
  readonly compile_median: number;
}

function safeExtract(line: string): Extraction {
  try {
    return extractCommands(line);
  } catch (error) {
    return { status: "error", message: `extractor threw: ${(error as Error).message}` };
  }
}

function tally(extractions: readonly Extraction[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const extraction of extractions) {
    const key =
      extraction.status === "error" && extraction.message.startsWith("extractor threw")
        ? "extractor_threw"
        : extraction.status;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A session on web1, so that the signal rules are evaluated. */
function sessionFacts(policy: Policy): SessionFacts {
  const target = policy.targets.get("web1");
  if (target === undefined) throw new Error("the bench policy has no web1");
  const at = new Date();
  return { user: "alice", groups: ["ops"], target, login: "root", sourceIp: "10.0.0.1", at };
}

function main(): void {
  const rounds = Number(process.argv[2] ?? 20);
  const texts = policyTexts();
  const reload = timeReload(texts, 10);
  const { policy } = reload;
  const entry = policy.access[0] as AccessEntry;
  const lines = corpus();
  const extractions = lines.map(safeExtract);
  const decisions: Record<string, number> = {};
  for (const extraction of extractions) {
    const { decision } = decideCommandLine(policy, entry, extraction);
    decisions[decision] = (decisions[decision] ?? 0) + 1;
  }
  const ruleCount = [...policy.rulesets.values()].reduce((sum, set) => sum + set.rules.length, 0);
  const result = {
    benchmark: "policy",
    date: new Date().toISOString(),
    machine: machine(),
    rules: ruleCount,
    lines: lines.length,
    distinct_lines: new Set(lines).size,
    rounds,
    extraction_status: tally(extractions),
    decisions,
    extract_and_decide: timeLines(lines, rounds, (line) =>
      decideCommandLine(policy, entry, safeExtract(line)),
    ),
    extract_only: timeLines(lines, rounds, safeExtract),
    decide_only: timeLines(extractions, rounds, (extraction) =>
      decideCommandLine(policy, entry, extraction),
    ),
    signal_rules: policy.signals.rules.length,
    decide_with_signals: timeLines(extractions, rounds, (extraction) =>
      decideCommandLine(policy, entry, extraction, sessionFacts(policy)),
    ),
    reload_ms: reload.timing,
    goals: { p50_us: 50, p99_us: 500, reload_ms: 200 },
  };
  printTable(result);
  writeResult("policy", result);
}

function printTable(result: {
  rules: number;
  lines: number;
  extract_and_decide: Timing;
  extract_only: Timing;
  decide_only: Timing;
  signal_rules: number;
  decide_with_signals: Timing;
  reload_ms: ReloadTiming;
}): void {
  const row = (name: string, timing: Timing) =>
    `${name.padEnd(20)} ${String(timing.p50_us).padStart(8)} ${String(timing.p95_us).padStart(8)} ${String(timing.p99_us).padStart(8)} ${String(timing.lines_per_s).padStart(10)}`;
  const output = [
    `policy: ${result.rules} rules, corpus: ${result.lines} lines`,
    `${"per line".padEnd(20)} ${"p50 µs".padStart(8)} ${"p95 µs".padStart(8)} ${"p99 µs".padStart(8)} ${"lines/s".padStart(10)}`,
    row("extract + decide", result.extract_and_decide),
    row("extract only", result.extract_only),
    row("decide only", result.decide_only),
    row(`+ ${result.signal_rules} signal rules`, result.decide_with_signals),
    `reload (parse + compile): median ${result.reload_ms.median} ms (parse ${result.reload_ms.parse_median}, compile ${result.reload_ms.compile_median}), max ${result.reload_ms.max} ms`,
  ];
  process.stdout.write(`${output.join("\n")}\n`);
}

main();
