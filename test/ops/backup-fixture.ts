// A bastion directory to back up (`portcullis init`) whose database holds
// `fillerBytes` of incompressible rows besides its schema: for the backup
// tests that need many chunks and for bench/backup.ts.

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { migrate } from "../../src/store/schema.js";
import { portcullis } from "../harness/bastion.js";

export interface BackupFixture {
  dir: string;
  config: string;
  database: string;
}

const ROW_BYTES = 64 * 1024;

export async function makeBackupFixture(dir: string, fillerBytes: number): Promise<BackupFixture> {
  const init = await portcullis(["init", dir, "--listen", "127.0.0.1:0"]);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  const database = join(dir, "data", "portcullis.db");
  const db = new Database(database);
  try {
    migrate(db);
    db.exec("CREATE TABLE filler (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    const insert = db.prepare("INSERT INTO filler (data) VALUES (?)");
    const fill = db.transaction((rows: number) => {
      for (let row = 0; row < rows; row += 1) insert.run(randomBytes(ROW_BYTES));
    });
    fill(Math.ceil(fillerBytes / ROW_BYTES));
  } finally {
    db.close();
  }
  return { dir, config: join(dir, "portcullis.yaml"), database };
}

/** The filler rows of a database, in order. */
export function fillerOf(database: string): Buffer[] {
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare("SELECT data FROM filler ORDER BY id")
      .all()
      .map((row) => (row as { data: Buffer }).data);
  } finally {
    db.close();
  }
}
