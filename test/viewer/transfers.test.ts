// The session page's command list with a session's file transfers, file
// operations and tunnels merged in time order (badge, line, seek link when
// the row is in the shown recording), and their JSON in the API.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CommandRow, RecordingRow, TransferRow } from "../../src/store/index.js";
import { transferJson } from "../../src/viewer/api.js";
import { byteSize, commandTable, listEntries } from "../../src/viewer/session-page.js";

const T0 = Date.parse("2026-11-22T03:16:00.000Z");
const at = (ms: number) => new Date(T0 + ms);
const session = "s1";

const commands: CommandRow[] = [
  { session, time: at(1_000), offsetMs: 1_000, line: "ls /var/log", decision: "allow", risk: 5 },
];

const transfers: TransferRow[] = [
  {
    session,
    event: "file.transfer",
    time: at(2_000),
    offsetMs: 2_000,
    direction: "download",
    path: "/var/log/app.log",
    bytes: 2_097_152,
    result: "ok",
  },
  {
    session,
    event: "tunnel.open",
    time: at(500),
    offsetMs: 500,
    tunnel: "s1.t1",
    kind: "local",
    destination: "127.0.0.1:5432",
    decision: "allow",
    rule: "db-tunnels",
  },
  {
    session,
    event: "file.transfer",
    time: at(3_000),
    offsetMs: 3_000,
    via: "scp",
    direction: "upload",
    path: "/etc/shadow",
    bytes: 0,
    result: "denied",
    reason: "/etc/shadow is denied",
    rule: "files#1",
  },
  { session, event: "file.op", time: at(4_000), offsetMs: 4_000, op: "mkdir", path: "/tmp/x" },
  {
    session,
    event: "file.transfer",
    time: at(5_000),
    offsetMs: 5_000,
    direction: "download",
    path: "/var/log/big.log",
    bytes: 12_000,
    result: "limited",
    reason: "download limit reached",
  },
  {
    session,
    event: "tunnel.close",
    time: at(9_000),
    offsetMs: 9_000,
    tunnel: "s1.t1",
    kind: "local",
    destination: "127.0.0.1:5432",
    bytesToTarget: 12_000,
    bytesFromTarget: 3_000_000,
  },
  {
    session,
    event: "file.transfer",
    time: at(70_000),
    offsetMs: 70_000,
    direction: "download",
    path: "/late.txt",
    bytes: 10,
    result: "ok",
  },
];

/** A recording from 0 to 60 s: the last transfer is outside it. */
const recording: RecordingRow = {
  id: "s1",
  session,
  relativePath: "2026/11/22/s1.cast",
  startedAt: at(0),
  endedAt: at(60_000),
  status: "closed",
};

describe("transfers and tunnels in the command list", () => {
  it("are merged with the commands in time order, a tunnel's close folded into its row", () => {
    const entries = listEntries(commands, transfers);
    assert.deepEqual(
      entries.map((entry) => [entry.line, entry.decision]),
      [
        ["tunnel → 127.0.0.1:5432 (12 kB ↑ 3.0 MB ↓)", "allow"],
        ["ls /var/log", "allow"],
        ["sftp download /var/log/app.log (2.1 MB)", "allow"],
        ["scp upload /etc/shadow", "deny"],
        ["mkdir /tmp/x", "allow"],
        ["sftp download /var/log/big.log (12 kB)", "limited"],
        ["sftp download /late.txt (10 B)", "allow"],
      ],
    );
  });

  it("render as rows with a badge and the commands' seek link, none outside the recording", () => {
    const table = commandTable(listEntries(commands, transfers), recording, "?recording=s1").text;
    const rows = table.split("<tr").slice(2);
    assert.equal(rows.length, 7);
    const denied = rows[3] ?? "";
    assert.match(denied, /class="decision-deny transfer"/);
    assert.match(denied, /<span class="badge deny">deny<\/span>/);
    assert.match(denied, /<td>files#1<\/td>\n<td>\/etc\/shadow is denied<\/td>/);
    assert.match(
      denied,
      /<a class="seek" href="\?recording=s1&t=3\.000#player" data-at="3\.000"><code>scp upload \/etc\/shadow<\/code><\/a>/,
    );
    assert.match(rows[0] ?? "", /data-at="0\.500"/);
    assert.match(rows[5] ?? "", /<span class="badge limited">limited<\/span>/);
    const late = rows[6] ?? "";
    assert.doesNotMatch(late, /class="seek"/);
    assert.match(late, /<td><code>sftp download \/late\.txt \(10 B\)<\/code><\/td>/);
    assert.match(late, /<td class="num">1:10\.0<\/td>/);
  });

  it("are listed without seek links when there is no recording", () => {
    const table = commandTable(listEntries([], transfers), undefined, "?recording=").text;
    assert.doesNotMatch(table, /class="seek"/);
    assert.match(table, /mkdir \/tmp\/x/);
  });

  it("sizes read in decimal units", () => {
    assert.deepEqual([0, 999, 1_000, 12_345, 2_097_152, 5_000_000_000].map(byteSize), [
      "0 B",
      "999 B",
      "1.0 kB",
      "12 kB",
      "2.1 MB",
      "5.0 GB",
    ]);
  });

  it("are in the API with their fields, absent ones left out", () => {
    assert.deepEqual(transferJson(transfers[2] as TransferRow), {
      event: "file.transfer",
      time: "2026-11-22T03:16:03.000Z",
      offset_ms: 3_000,
      direction: "upload",
      path: "/etc/shadow",
      bytes: 0,
      result: "denied",
      reason: "/etc/shadow is denied",
      rule: "files#1",
      via: "scp",
    });
    assert.deepEqual(transferJson(transfers[5] as TransferRow), {
      event: "tunnel.close",
      time: "2026-11-22T03:16:09.000Z",
      offset_ms: 9_000,
      tunnel: "s1.t1",
      kind: "local",
      destination: "127.0.0.1:5432",
      bytes_to_target: 12_000,
      bytes_from_target: 3_000_000,
    });
  });
});
