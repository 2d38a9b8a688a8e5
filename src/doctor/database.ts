// Doctor: the audit index opens (read-only, never migrated here) and its
// schema version is one this Portcullis knows; a database that does not exist
// yet is fine, serve creates it.

import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import type { Config } from "../config/index.js";
import { MIGRATIONS, schemaVersion } from "../store/schema.js";
import { errorMessage } from "../util/errors.js";
import { type CheckResult, fail, ok, warn } from "./check.js";

const CHECK = "database";

export function checkDatabase(config: Config): CheckResult {
  const path = config.database.path;
  if (!existsSync(path)) return ok(CHECK, `${path} does not exist yet; serve creates it`);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    return judgeSchemaVersion(path, schemaVersion(db), MIGRATIONS.length);
  } catch (error) {
    return fail(CHECK, `cannot open ${path}: ${errorMessage(error)}`);
  } finally {
    db?.close();
  }
}

export function judgeSchemaVersion(path: string, version: number, known: number): CheckResult {
  if (version === known) return ok(CHECK, `${path}, schema version ${version}`);
  if (version < known) {
    return warn(
      CHECK,
      `${path} has schema version ${version}; serve migrates it to ${known} when it starts (after a backup copy)`,
    );
  }
  return fail(
    CHECK,
    `${path} has schema version ${version}, newer than this Portcullis knows (${known}): upgrade Portcullis`,
  );
}
