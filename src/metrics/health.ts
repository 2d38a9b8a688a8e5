// Readiness of a running bastion, for /readyz and whoever else asks: ready
// once the SSH listener is up with its policy loaded, and while the audit
// index takes writes (no write failure reported lately, and room left on
// its file system); not ready from the moment shutdown starts. The reason
// is one line naming what is wrong. Liveness (/healthz) needs nothing
// beyond a process that answers.

import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { errorMessage } from "../util/errors.js";

export type Readiness =
  | { readonly ready: true }
  | { readonly ready: false; readonly reason: string };

export interface HealthOptions {
  /** The audit index's database file (`database.path`). */
  readonly databasePath: string;
  /** A write failure makes the index unready this long (a failing index retries every 250 ms). */
  readonly failureWindowMs?: number;
  /** Below this much free space for the database, the index is not ready. */
  readonly minFreeBytes?: number;
  readonly now?: () => number;
}

export const DEFAULT_FAILURE_WINDOW_MS = 5_000;
export const DEFAULT_MIN_FREE_BYTES = 1024 * 1024;

export class BastionHealth {
  #ssh: "starting" | "up" | "stopping" = "starting";
  #policyLoaded = false;
  #indexFailure: { readonly at: number; readonly reason: string } | undefined;
  readonly #databaseDir: string;
  readonly #failureWindowMs: number;
  readonly #minFreeBytes: number;
  readonly #now: () => number;

  constructor(options: HealthOptions) {
    this.#databaseDir = dirname(options.databasePath);
    this.#failureWindowMs = options.failureWindowMs ?? DEFAULT_FAILURE_WINDOW_MS;
    this.#minFreeBytes = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    this.#now = options.now ?? Date.now;
  }

  policyLoaded(): void {
    this.#policyLoaded = true;
  }

  sshListening(): void {
    if (this.#ssh === "starting") this.#ssh = "up";
  }

  /** Shutdown started (no new connections): not ready any more, for good. */
  stopping(): void {
    this.#ssh = "stopping";
  }

  auditIndexFailed(error: Error): void {
    this.#indexFailure = { at: this.#now(), reason: oneLine(errorMessage(error)) };
  }

  readiness(): Readiness {
    const reason = this.#problem();
    return reason === undefined ? { ready: true } : { ready: false, reason };
  }

  #problem(): string | undefined {
    if (this.#ssh === "stopping") return "shutting down";
    if (this.#ssh === "starting") return "the SSH listener is not up yet";
    if (!this.#policyLoaded) return "the policy is not loaded yet";
    return this.#indexProblem();
  }

  #indexProblem(): string | undefined {
    const failure = this.#indexFailure;
    if (failure !== undefined && this.#now() - failure.at < this.#failureWindowMs)
      return `the audit index cannot be written: ${failure.reason}`;
    const free = freeBytes(this.#databaseDir);
    if (typeof free === "string") return `the audit index cannot be checked: ${free}`;
    if (free < this.#minFreeBytes)
      return `the audit index's file system is full (${free} bytes free in ${this.#databaseDir})`;
    return undefined;
  }
}

/** Bytes an unprivileged process may still write there, or why they cannot be known. */
function freeBytes(dir: string): number | string {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch (error) {
    return oneLine(errorMessage(error));
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
