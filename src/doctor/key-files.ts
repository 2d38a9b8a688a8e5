// Doctor: the private keys and secret files the configuration names exist,
// can be read, are closed to group and others and belong to the user running
// the check; files in a systemd credentials directory are systemd's to
// protect. `fileFacts` does the I/O, `judgeSecretFile` decides.

import { accessSync, constants, statSync } from "node:fs";
import { sep } from "node:path";
import type { Config } from "../config/index.js";
import { type CheckResult, fail, ok, warn } from "./check.js";

/** A file that must stay private, as the configuration names it. */
export interface SecretFile {
  readonly check: string;
  readonly path: string;
  /** Whether serve needs it. */
  readonly required: boolean;
  /** Required: what to do when it is missing; optional: why its absence is fine. */
  readonly whenMissing: string;
}

export interface FileFacts {
  /** Absent when the file does not exist. */
  readonly stat?: { readonly mode: number; readonly uid: number };
  /** The error code when the file exists but cannot be read. */
  readonly unreadable?: string;
  /** Under $CREDENTIALS_DIRECTORY or /run/credentials/: placed and protected by systemd. */
  readonly credential: boolean;
}

const SYSTEMD_CREDENTIALS = "/run/credentials/";
const GROUP_OR_OTHER_BITS = 0o077;

const required = (check: string, path: string, whenMissing: string): SecretFile => ({
  check,
  path,
  required: true,
  whenMissing,
});

/** Every private key and secret file of the configuration, except the vault master key. */
export function secretFiles(config: Config): SecretFile[] {
  const { ssh, ca, recordings, http, approvals, signals, logging } = config;
  const configured = (check: string, path: string | undefined) =>
    path === undefined ? [] : [required(check, path, `create it, or remove ${check}`)];
  return [
    required("ssh.host_key", ssh.host_key, "run portcullis init, or set ssh.host_key"),
    required("ca.user_key", ca.user_key, "run portcullis init, or set ca.user_key"),
    ...(ssh.host_ca.endsWith(".pub")
      ? [
          {
            check: "host CA key",
            path: ssh.host_ca.slice(0, -".pub".length),
            required: false,
            whenMissing: "kept offline; portcullis ca sign-host --ca-key FILE when renewing",
          },
        ]
      : []),
    required(
      "recordings.signing_key",
      recordings.signing_key,
      "run portcullis init, or set recordings.signing_key",
    ),
    ...configured("http.tls.key", http?.tls?.key),
    ...configured("approvals.webhook_secret_file", approvals.webhook_secret_file),
    ...configured("signals.webhook_secret_file", signals.webhook_secret_file),
    ...configured("logging.http.authorization_file", logging.http?.authorization_file),
  ];
}

export function fileFacts(path: string, env: NodeJS.ProcessEnv = process.env): FileFacts {
  const credentialsDir = env.CREDENTIALS_DIRECTORY;
  const credential =
    path.startsWith(SYSTEMD_CREDENTIALS) ||
    (credentialsDir !== undefined &&
      credentialsDir !== "" &&
      path.startsWith(credentialsDir + sep));
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return { credential };
  return { stat: { mode: stat.mode, uid: stat.uid }, unreadable: unreadable(path), credential };
}

function unreadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? "unreadable";
  }
}

/** ok, warn or FAIL for one secret file; `uid` is the user running the check. */
export function judgeSecretFile(file: SecretFile, facts: FileFacts, uid: number): CheckResult {
  const { check, path } = file;
  const { stat } = facts;
  if (stat === undefined) {
    if (facts.credential) {
      return warn(
        check,
        `${path} is a systemd credential and absent: present only while the service runs; check the source file of its LoadCredential= line`,
      );
    }
    return file.required
      ? fail(check, `${path} does not exist: ${file.whenMissing}`)
      : ok(check, `not on this host (${file.whenMissing})`);
  }
  if (facts.unreadable !== undefined) {
    return fail(
      check,
      `cannot read ${path} (${facts.unreadable}): run doctor as the service's user, or fix the file's owner`,
    );
  }
  if (facts.credential) return ok(check, `${path} (systemd credential)`);
  const mode = stat.mode & 0o777;
  if ((mode & GROUP_OR_OTHER_BITS) !== 0) {
    return fail(
      check,
      `${path} has mode ${octal(mode)}, open to group or others: chmod 600 ${path}`,
    );
  }
  if (stat.uid !== uid) {
    return warn(
      check,
      `${path} belongs to uid ${stat.uid}, not to uid ${uid} running doctor: chown it to the service's user`,
    );
  }
  return ok(check, `${path} (mode ${octal(mode)})`);
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}
