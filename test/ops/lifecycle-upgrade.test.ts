// Upgrading: a database written by the previous schema version (made by
// applying all migrations but the last, as an older Portcullis left it) is
// copied beside itself, then migrated, when `portcullis serve` opens it; a
// copy that cannot be written stops the upgrade and changes nothing.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { openAuditIndex } from "../../src/store/index.js";
import { MIGRATIONS, migrate, schemaVersion } from "../../src/store/schema.js";
import { PortcullisError } from "../../src/util/errors.js";
import { startTestBastion } from "../harness/bastion.js";

const PREVIOUS = MIGRATIONS.length - 1;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A database at the previous schema version holding one session of dave's. */
function previousVersionDatabase(): string {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-upgrade-"));
  dirs.push(dir);
  const path = join(dir, "portcullis.db");
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  migrate(db, PREVIOUS);
  db.prepare(
    "INSERT INTO sessions (id, user, target, started_at) VALUES ('s-old', 'dave@example.com', 'db9', 1000)",
  ).run();
  db.close();
  return path;
}

function versionOf(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return schemaVersion(db);
  } finally {
    db.close();
  }
}

function sessionIds(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT id FROM sessions ORDER BY id").pluck().all() as string[];
  } finally {
    db.close();
  }
}

describe("a database written by the previous schema version", () => {
  it("is backed up, then migrated, when serve opens it; the data stays", async () => {
    const path = previousVersionDatabase();
    const bastion = await startTestBastion({
      configEdit: (yaml) => yaml.replace(/^ {2}path: data\/portcullis\.db$/m, `  path: ${path}`),
    });
    try {
      const said = await bastion.waitForAudit((event) => event.msg === "database schema upgraded");
      assert.equal(said.from, PREVIOUS);
      assert.equal(said.to, MIGRATIONS.length);
      const backup = String(said.backup);
      assert.match(backup, new RegExp(`^${path}\\.v${PREVIOUS}-\\d{8}T\\d{6}Z\\.bak$`));
      assert.equal(statSync(backup).mode & 0o777, 0o600);
      assert.equal(versionOf(backup), PREVIOUS);
      assert.deepEqual(sessionIds(backup), ["s-old"]);

      assert.equal(versionOf(path), MIGRATIONS.length);
      const listed = await bastion.cli(["recordings", "list", "--user", "dave@example.com"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /s-old/);

      // Opened again, it is current: no second copy.
      await bastion.restart("SIGTERM");
      const copies = readdirSync(join(path, "..")).filter((name) => name.endsWith(".bak"));
      assert.deepEqual(copies, [backup.slice(backup.lastIndexOf("/") + 1)]);
    } finally {
      await bastion.stop();
    }
  });

  it("is left as it was when its copy cannot be written", () => {
    const path = previousVersionDatabase();
    // Every name the copy could take in the next seconds is already a directory.
    const now = Date.now();
    for (let second = -1; second <= 10; second++) {
      const stamp = new Date(now + second * 1000).toISOString().replace(/[-:]|\.\d+/g, "");
      mkdirSync(`${path}.v${PREVIOUS}-${stamp}.bak`);
    }
    assert.throws(
      () => openAuditIndex({ path }),
      (error: unknown) =>
        error instanceof PortcullisError &&
        error.code === "ERR_DATABASE_BACKUP" &&
        !error.message.includes("\n") &&
        error.message.startsWith(
          `cannot upgrade the database from schema version ${PREVIOUS} to ${MIGRATIONS.length}: its backup ${path}.v${PREVIOUS}-`,
        ),
    );
    assert.equal(versionOf(path), PREVIOUS);
    assert.deepEqual(sessionIds(path), ["s-old"]);
  });
});
