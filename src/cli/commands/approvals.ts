// `portcullis approvals [--all] [--json]`, `approvals grants`, `approvals
// revoke-grant ID`, `approve ID` and `deny ID`: the local admin's approver
// console. It reads and writes the database directly (whoever runs it can
// read the database anyway), so the approver's identity is asserted with
// `--as USER [--groups a,b]`; the approval rules still apply (no
// self-approval, listed approvers only, quorum). Its audit events carry
// `via: "cli"` and the unix user, and are emitted by the running server
// (src/approvals/outbox.ts).
import { userInfo } from "node:os";
import type { Command } from "commander";
import {
  type ApprovalRequest,
  type Approvals,
  type ApprovalVerdict,
  createApprovals,
  openSqliteApprovalStore,
  outboxAuditLog,
  type Principal,
  type SessionGrant,
} from "../../approvals/index.js";
import { approvalJson, grantJson } from "../../approvals/json.js";
import { configFor } from "../config-option.js";

interface ListOptions {
  all?: boolean;
  json?: boolean;
  for?: string;
  groups?: string;
}

interface DecideOptions {
  comment?: string;
  as: string;
  groups?: string;
}

export function registerApprovalsCommands(program: Command): void {
  const approvals = program
    .command("approvals")
    .description("approval requests: pending ones by default")
    .option("--all", "recent requests in every status")
    .option("--json", "one JSON array")
    .option("--for <user>", "only those this approver may decide")
    .option("--groups <a,b>", "with --for: the approver's groups")
    .action((options: ListOptions, command: Command) => {
      withApprovals(command, (service) => printRequests(listRequests(service, options), options));
    });
  approvals
    .command("grants")
    .description("session grants (just-in-time access): active ones by default")
    .option("--all", "also expired and revoked grants")
    .option("--json", "one JSON array")
    .action((_options: unknown, command: Command) => {
      // `approvals` has --all and --json too and takes them wherever they are typed.
      const options = command.optsWithGlobals<{ all?: boolean; json?: boolean }>();
      withApprovals(command, (service) => printGrants(service.grants(), options, new Date()));
    });
  approvals
    .command("revoke-grant")
    .description("end a session grant now")
    .argument("<id>")
    .requiredOption("--as <user>", "who revokes it (audited)")
    .action((id: string, options: { as: string }, command: Command) => {
      withApprovals(command, (service) => {
        const grant = service.revokeGrant(id, options.as);
        process.stdout.write(`revoked grant ${grant.id} (${grant.user} on ${grant.target})\n`);
      });
    });
  for (const verdict of ["approve", "deny"] as const) registerDecision(program, verdict);
}

function registerDecision(program: Command, verdict: ApprovalVerdict): void {
  program
    .command(verdict)
    .description(`${verdict} an approval request as --as USER`)
    .argument("<id>")
    .requiredOption("--as <user>", "the approver (never the requester)")
    .option("--groups <a,b>", "the approver's groups")
    .option("--comment <text>", "shown to the requester and audited")
    .action((id: string, options: DecideOptions, command: Command) => {
      withApprovals(command, (service) => {
        const approver: Principal = { user: options.as, groups: splitList(options.groups) };
        const request = service.decide(id, approver, verdict, options.comment, "cli");
        process.stdout.write(`${decisionLine(request)}\n`);
      });
    });
}

function withApprovals<T>(command: Command, use: (service: Approvals) => T): T {
  const { config } = configFor(command);
  const store = openSqliteApprovalStore({ path: config.database.path });
  const now = () => new Date();
  const audit = outboxAuditLog(store, now, { unix_user: unixUser() }, (line) =>
    process.stderr.write(`portcullis: ${line}\n`),
  );
  const service = createApprovals({ store, audit, now, background: false });
  try {
    return use(service);
  } finally {
    service.close();
  }
}

function unixUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? String(process.getuid?.() ?? "unknown");
  }
}

function splitList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function listRequests(service: Approvals, options: ListOptions): ApprovalRequest[] {
  if (options.all === true) return service.recent();
  const approver =
    options.for === undefined
      ? undefined
      : { user: options.for, groups: splitList(options.groups) };
  return service.pending(approver);
}

function printRequests(requests: readonly ApprovalRequest[], options: ListOptions): void {
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(requests.map(approvalJson), null, 2)}\n`);
    return;
  }
  if (requests.length === 0) {
    process.stdout.write(`no ${options.all === true ? "" : "pending "}approval requests\n`);
    return;
  }
  const now = new Date();
  const rows = requests.map((request) => [
    request.id,
    request.status,
    request.kind,
    request.requester.user,
    `${request.login === undefined ? "" : `${request.login}@`}${request.target}`,
    request.status === "pending"
      ? `in ${formatDuration(request.expires.getTime() - now.getTime())}`
      : "-",
    `${request.votes.filter((vote) => vote.verdict === "approve").length}/${request.quorum}`,
    request.kind === "session" ? "(session)" : request.line,
  ]);
  printTable(["ID", "STATUS", "KIND", "REQUESTER", "TARGET", "EXPIRES", "VOTES", "LINE"], rows);
}

function printGrants(
  grants: readonly SessionGrant[],
  options: { all?: boolean; json?: boolean },
  now: Date,
): void {
  const shown =
    options.all === true ? grants : grants.filter((grant) => grantState(grant, now) === "active");
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(shown.map(grantJson), null, 2)}\n`);
    return;
  }
  if (shown.length === 0) {
    process.stdout.write(`no ${options.all === true ? "" : "active "}grants\n`);
    return;
  }
  const rows = shown.map((grant) => [
    grant.id,
    grant.user,
    grant.target,
    grant.granted.toISOString(),
    grant.expires.toISOString(),
    grantState(grant, now),
  ]);
  printTable(["ID", "USER", "TARGET", "GRANTED", "EXPIRES", "STATE"], rows);
}

function grantState(grant: SessionGrant, now: Date): string {
  if (grant.revokedAt !== undefined) return `revoked by ${grant.revokedBy ?? "?"}`;
  return grant.expires.getTime() > now.getTime() ? "active" : "expired";
}

function decisionLine(request: ApprovalRequest): string {
  const approvals = request.votes.filter((vote) => vote.verdict === "approve").length;
  const what = {
    command: request.line,
    session: `session on ${request.target}`,
    file_transfer: `file transfer on ${request.target} (${request.line})`,
  }[request.kind];
  if (request.status === "pending") {
    return `vote recorded on ${request.id} (${approvals}/${request.quorum} approvals): ${what}`;
  }
  return `${request.status} ${request.id}: ${what}`;
}

function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  for (const row of [header, ...rows]) {
    const cells = row.map((cell, column) =>
      column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
    );
    process.stdout.write(`${cells.join("  ")}\n`);
  }
}

/** "9m12s", "45s", "1h05m"; "0s" once past. */
function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, "0")}m`;
  return minutes > 0 ? `${minutes}m${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
}
