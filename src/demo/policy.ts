// The policy `portcullis demo` writes: one target (the built-in demo shell)
// and an access entry per demo group — operators with the baseline and a
// change ruleset whose approvals go to the approvers, auditors with a
// read-only allow-list, approvers with the baseline.

export interface DemoPolicyTarget {
  readonly name: string;
  readonly address: string;
  readonly login: string;
  readonly credential: string;
  readonly hostKeyLine: string;
}

const READ_ONLY_COMMANDS = [
  "ls",
  "cat",
  "head",
  "tail",
  "less",
  "grep",
  "wc",
  "stat",
  "find",
  "ps",
  "df",
  "du",
  "free",
  "uptime",
  "uname",
  "hostname",
  "whoami",
  "id",
  "date",
  "pwd",
  "echo",
  "cd",
  "exit",
];

function yamlList(items: readonly string[]): string {
  return `[${items.map((item) => JSON.stringify(item)).join(", ")}]`;
}

export function demoPolicy(target: DemoPolicyTarget): string {
  const { name } = target;
  return `# Written by portcullis demo.
targets:
  ${name}:
    address: "${target.address}"
    logins: [${target.login}]
    credential: ${target.credential}
    host_key: "${target.hostKeyLine}"
    labels: { env: demo }
access:
  - name: demo-operators
    subjects: { groups: [ops] }
    targets: { names: [${name}] }
    max_session: 8h
    commands: [baseline, changes]
    approval: { approvers: { groups: [approvers] } }
  - name: demo-auditors
    subjects: { groups: [auditors] }
    targets: { names: [${name}] }
    max_session: 8h
    commands: [read-only]
  - name: demo-approvers
    subjects: { groups: [approvers] }
    targets: { names: [${name}] }
    max_session: 8h
    commands: [baseline]
rulesets:
  baseline:
    default: allow
    rules:
      - deny: ["rm -r /", "rm -R /", "rm --recursive /"]
        reason: recursive delete of /
      - deny: ["shutdown", "reboot", "halt", "poweroff"]
        reason: stopping the machine
      - warn: "sudo"
        reason: privileged command
  changes:
    default: allow
    rules:
      - approve: ["systemctl restart", "systemctl stop", "service * restart", "service * stop"]
        reason: service restarts need a second pair of eyes
        approvers: { groups: [approvers] }
  read-only:
    default: deny
    rules:
      - allow: ${yamlList(READ_ONLY_COMMANDS)}
        reason: auditors only look
`;
}
