// `portcullis approvals|approve|deny` as real child processes against the
// database a running service uses: listing, the approval rules (self,
// non-approver, quorum), one-line errors, the waiting session learning the
// CLI's decision, the CLI's audit events emitted by the service with
// `via: "cli"` and the unix user, and session grants.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { assertFailure, runCli } from "../cli/cli.js";
import { alice, bob, carol, commandRequest, delay, openService, privateDir } from "./helpers.js";

function setup() {
  const dir = privateDir();
  const configPath = join(dir, "portcullis.yaml");
  writeFileSync(configPath, "database: { path: portcullis.db }\n");
  const service = openService({ path: join(dir, "portcullis.db"), pollIntervalMs: 50 });
  const cli = (args: readonly string[]) => runCli(["--config", configPath, ...args]);
  return { ...service, cli };
}

describe("portcullis approvals", () => {
  test("lists pending requests as a table and as JSON; --for filters by approver", async () => {
    const { approvals, cli } = setup();
    const request = approvals.request(commandRequest({ quorum: 2 }));
    const table = await cli(["approvals"]);
    assert.equal(table.code, 0, table.stderr);
    const [header, row, extra] = table.stdout.trimEnd().split("\n");
    assert.match(
      header ?? "",
      /^ID\s+STATUS\s+KIND\s+REQUESTER\s+TARGET\s+EXPIRES\s+VOTES\s+LINE$/,
    );
    assert.match(
      row ?? "",
      new RegExp(
        // a minute from now, less however long a loaded machine took to start the CLI
        `^${request.id}\\s+pending\\s+command\\s+alice@example.com\\s+deploy@web1\\s+in ([1-5]?\\d|1m00)s?\\S*\\s+0/2\\s+systemctl restart nginx$`,
      ),
    );
    assert.equal(extra, undefined);
    const json = await cli(["approvals", "--json"]);
    assert.deepEqual(
      JSON.parse(json.stdout).map((item: { id: string; quorum: number }) => [item.id, item.quorum]),
      [[request.id, 2]],
    );
    const forAlice = await cli(["approvals", "--for", alice.user, "--groups", "leads"]);
    assert.equal(forAlice.stdout, "no pending approval requests\n");
  });

  test("approve: rules apply, errors are one line, the waiting session learns the decision", async () => {
    const { approvals, audit, cli } = setup();
    const request = approvals.request(commandRequest({ quorum: 2 }));
    const waiting = approvals.outcome(request.id);

    assertFailure(await cli(["approve", request.id, "--as", alice.user, "--groups", "leads"]), {
      code: 1,
      stderr: [`alice@example.com cannot decide their own request ${request.id}`],
    });
    assertFailure(await cli(["approve", request.id, "--as", "eve@example.com"]), {
      code: 1,
      stderr: [`eve@example.com is not an approver of ${request.id} (approvers: groups leads)`],
    });
    assertFailure(await cli(["approve", request.id]), {
      code: 2,
      stderr: ["required option '--as <user>' not specified"],
    });
    assertFailure(await cli(["approve", "zzzzzz", "--as", bob.user, "--groups", "leads"]), {
      code: 1,
      stderr: ["no approval request zzzzzz"],
    });

    const first = await cli(["approve", request.id, "--as", bob.user, "--groups", "leads"]);
    assert.equal(
      first.stdout,
      `vote recorded on ${request.id} (1/2 approvals): systemctl restart nginx\n`,
    );
    assertFailure(await cli(["approve", request.id, "--as", bob.user, "--groups", "leads"]), {
      code: 1,
      stderr: [`bob@example.com already voted on approval ${request.id}`],
    });
    const second = await cli([
      "approve",
      request.id,
      "--as",
      carol.user,
      "--groups",
      "leads",
      "--comment",
      "go",
    ]);
    assert.equal(second.stdout, `approved ${request.id}: systemctl restart nginx\n`);

    const outcome = await waiting;
    assert.equal(outcome.status, "approved");
    assert.deepEqual(outcome.request.decidedBy, [bob.user, carol.user]);
    await delay(150);
    const approved = audit.named("approval.approved");
    assert.equal(approved.length, 1);
    assert.equal(approved[0]?.fields.via, "cli");
    assert.equal(approved[0]?.fields.unix_user, userInfo().username);
    assert.equal(approved[0]?.fields.comment, "go");
    assert.equal(audit.named("approval.vote").length, 1);
  });

  test("deny with a comment; --all shows decided requests", async () => {
    const { approvals, cli } = setup();
    const request = approvals.request(commandRequest());
    const denied = await cli([
      "deny",
      request.id,
      "--as",
      bob.user,
      "--groups",
      "leads",
      "--comment",
      "not during the sale",
    ]);
    assert.equal(denied.stdout, `denied ${request.id}: systemctl restart nginx\n`);
    const outcome = await approvals.outcome(request.id);
    assert.equal(outcome.request.comment, "not during the sale");
    assert.equal((await cli(["approvals"])).stdout, "no pending approval requests\n");
    assert.match((await cli(["approvals", "--all"])).stdout, new RegExp(`${request.id}\\s+denied`));
  });

  test("grants are listed and revoked", async () => {
    const { approvals, audit, cli } = setup();
    const request = approvals.request(
      commandRequest({ kind: "session", line: "session", grantMs: 3_600_000 }),
    );
    await cli(["approve", request.id, "--as", bob.user, "--groups", "leads"]);
    const listed = await cli(["approvals", "grants"]);
    assert.match(
      listed.stdout,
      new RegExp(
        `^ID\\s+USER.*\\n${request.id}\\s+alice@example.com\\s+web1\\s+\\S+\\s+\\S+\\s+active\\n$`,
      ),
    );
    assert.equal(approvals.activeGrant(alice.user, "web1")?.id, request.id);
    const revoked = await cli(["approvals", "revoke-grant", request.id, "--as", carol.user]);
    assert.equal(revoked.stdout, `revoked grant ${request.id} (alice@example.com on web1)\n`);
    assert.equal(approvals.activeGrant(alice.user, "web1"), undefined);
    assert.equal((await cli(["approvals", "grants"])).stdout, "no active grants\n");
    assert.match(
      (await cli(["approvals", "grants", "--all"])).stdout,
      /revoked by carol@example.com/,
    );
    assertFailure(await cli(["approvals", "revoke-grant", request.id, "--as", carol.user]), {
      code: 1,
      stderr: [`grant ${request.id} was already revoked`],
    });
    await delay(150);
    assert.equal(audit.named("grant.revoked")[0]?.fields.by, carol.user);
  });
});
