// The approver console (SPEC §2): `ssh approvals@bastion` with the
// approver's own certificate. In a terminal: the requests this approver may
// decide, then an `approvals> ` prompt taking `list`, `show ID`,
// `approve ID [comment]`, `deny ID [comment]`, `help`, `quit`; as an exec,
// one of those commands (`ssh approvals@bastion approve k3q9zt looks fine`).
// Decisions go through the same service as every other channel (`via:
// "ssh"`), so its rules (no self-approval, quorum) apply unchanged.

import type { ServerChannel } from "ssh2";
import type { ApprovalRequest, Approvals, Principal } from "../approvals/types.js";
import { errorMessage } from "../util/errors.js";
import { clock } from "./approval-gate.js";
import { LineInput } from "./line-input.js";
import { type ChannelStart, endWithStatus } from "./session-channel.js";

const PROMPT = "approvals> ";
const MAX_COMMAND_BYTES = 1000;
const HELP = [
  "list                    pending requests you may decide",
  "show ID                 one request in full",
  "approve ID [comment]    approve it",
  "deny ID [comment]       deny it",
  "quit                    leave",
].join("\r\n");

interface Result {
  readonly output: string;
  readonly ok: boolean;
  readonly quit?: boolean;
}

export function runApproverConsole(
  channel: ServerChannel,
  start: ChannelStart,
  approvals: Approvals,
  approver: Principal,
  now: () => Date,
): void {
  const run = (line: string) => execute(line, approvals, approver, now());
  if (start.kind === "exec") {
    const result = run(start.command?.trim() || "list");
    (result.ok ? channel : channel.stderr).write(`${result.output}\n`);
    endWithStatus(channel, result.ok ? 0 : 1);
    return;
  }
  const input = new LineInput((text) => channel.write(text), { maxBytes: MAX_COMMAND_BYTES });
  channel.write(`${run("list").output}\r\n${PROMPT}`);
  channel.on("data", (data: Buffer) => {
    let event = input.feed(data);
    while (event !== undefined) {
      channel.write("\r\n");
      const result = event.kind === "line" ? run(event.text) : { output: "", ok: true, quit: true };
      if (result.quit) return endWithStatus(channel, 0);
      if (result.output !== "") channel.write(`${result.output}\r\n`);
      channel.write(PROMPT);
      event = input.feed(event.rest);
    }
  });
}

function execute(line: string, approvals: Approvals, approver: Principal, now: Date): Result {
  const [command = "", id = "", ...words] = line.trim().split(/\s+/);
  const comment = words.length === 0 ? undefined : words.join(" ");
  switch (command) {
    case "":
      return { output: "", ok: true };
    case "list":
      return { output: listing(approvals.pending(approver), now), ok: true };
    case "show":
      return show(approvals.get(id), now);
    case "approve":
    case "deny":
      return decide(approvals, id, approver, command, comment);
    case "help":
      return { output: HELP, ok: true };
    case "quit":
    case "exit":
      return { output: "", ok: true, quit: true };
    default:
      return { output: `unknown command "${command}"; try help`, ok: false };
  }
}

function decide(
  approvals: Approvals,
  id: string,
  approver: Principal,
  verdict: "approve" | "deny",
  comment: string | undefined,
): Result {
  if (id === "") return { output: `usage: ${verdict} ID [comment]`, ok: false };
  try {
    const request = approvals.decide(id, approver, verdict, comment, "ssh");
    const state = request.status === "pending" ? `pending (${votes(request)})` : request.status;
    return { output: `${request.id}: ${state}`, ok: true };
  } catch (error) {
    return { output: errorMessage(error), ok: false };
  }
}

function show(request: ApprovalRequest | undefined, now: Date): Result {
  if (request === undefined) return { output: "no such request", ok: false };
  const lines = [
    `${request.id}  ${request.status}  ${request.kind}`,
    `requester: ${request.requester.user} (${request.requester.groups.join(", ") || "no groups"})`,
    `target:    ${request.login === undefined ? "" : `${request.login}@`}${request.target}`,
    `line:      ${request.line}`,
    `rule:      ${request.rule} (${request.reason})`,
    ...(request.justification === undefined ? [] : [`reason:    ${request.justification}`]),
    `votes:     ${votes(request)}; expires in ${remaining(request, now)}`,
  ];
  return { output: lines.join("\r\n"), ok: true };
}

function listing(pending: readonly ApprovalRequest[], now: Date): string {
  if (pending.length === 0) return "no pending requests for you";
  return pending
    .map(
      (request) =>
        `${request.id}  ${request.requester.user} → ${request.target}: ${request.line}  [${request.reason}; ${votes(request)}; ${remaining(request, now)} left]`,
    )
    .join("\r\n");
}

function votes(request: ApprovalRequest): string {
  const approving = request.votes.filter((vote) => vote.verdict === "approve").length;
  return `${approving}/${request.quorum} approvals`;
}

function remaining(request: ApprovalRequest, now: Date): string {
  return clock(request.expires.getTime() - now.getTime());
}
