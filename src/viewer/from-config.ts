// The viewer as `portcullis serve` runs it: settings from the `viewer`
// section and the risk score's alert threshold from `signals`, the web
// session and share link stores in the database file (their WAL checkpoints
// left to the audit index's thread), TLS-dependent cookie flags.

import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { Config } from "../config/index.js";
import { openSqliteShareLinkStore, type ShareLinkStore } from "../store/share-links.js";
import { openSqliteWebSessionStore } from "../store/web-sessions.js";
import type { ViewerDependencies, ViewerSettings } from "./context.js";
import { viewerPlugin } from "./index.js";

export function viewerSettings(
  viewer: Config["viewer"],
  signals?: Pick<Config["signals"], "threshold">,
): ViewerSettings {
  return {
    auditorGroups: viewer.auditor_groups,
    approverGroups: viewer.approver_groups,
    lifetimes: { idleMs: viewer.session_idle, maxMs: viewer.session_max },
    shareMaxTtlMs: viewer.share_max_ttl,
    ...(signals === undefined ? {} : { riskThreshold: signals.threshold }),
  };
}

/** Over TLS itself, or behind a proxy that serves `http.public_url` over https. */
export function servedSecurely(http: NonNullable<Config["http"]>): boolean {
  return http.tls !== undefined || http.public_url?.startsWith("https:") === true;
}

export interface ConfiguredViewer {
  readonly plugin: FastifyPluginAsync;
  close(): void;
}

export interface ViewerConfig {
  readonly http: NonNullable<Config["http"]>;
  readonly oidc: NonNullable<Config["oidc"]>;
  readonly viewer: Config["viewer"];
  readonly signals?: Pick<Config["signals"], "threshold">;
  readonly database: Config["database"];
}

/** The viewer plugin; `parts` are the running bastion's, the rest comes from `config`. */
export function configuredViewer(
  config: ViewerConfig,
  parts: Omit<ViewerDependencies, "webSessions" | "shareLinks" | "settings" | "secure" | "oidc">,
): ConfiguredViewer {
  const { http, oidc } = config;
  const database = { path: config.database.path, backgroundCheckpoints: true };
  const webSessions = openSqliteWebSessionStore(database);
  let shareLinks: ShareLinkStore;
  try {
    shareLinks = openSqliteShareLinkStore(database);
  } catch (error) {
    webSessions.close();
    throw error;
  }
  const deps: ViewerDependencies = {
    ...parts,
    webSessions,
    shareLinks,
    settings: viewerSettings(config.viewer, config.signals),
    secure: servedSecurely(http),
    oidc: { issuer: oidc.issuer, clientId: oidc.client_id },
  };
  return {
    plugin: (app: FastifyInstance) => viewerPlugin(app, deps),
    close: () => {
      webSessions.close();
      shareLinks.close();
    },
  };
}
