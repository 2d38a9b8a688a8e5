// systemd credentials (`LoadCredential=`, docs/operations.md): under the
// service, the private keys are read from $CREDENTIALS_DIRECTORY, where
// systemd placed them, instead of the configured paths (which the unit makes
// inaccessible). Admin commands run outside the service, without
// $CREDENTIALS_DIRECTORY, and keep using the configured paths.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "./schema.js";

/** The credential names the unit loads, and the config paths they stand for. */
export const KEY_CREDENTIALS = {
  host_key: "host_ed25519",
  user_ca: "user_ca",
  signing_key: "audit_ed25519",
  tls_key: "tls.key",
} as const;

/** The config with each key that systemd passed as a credential read from there. */
export function withSystemdCredentials(config: Config, env: NodeJS.ProcessEnv): Config {
  const directory = env.CREDENTIALS_DIRECTORY;
  if (directory === undefined || directory === "") return config;
  const credential = (name: string, configured: string) => {
    const path = join(directory, name);
    return existsSync(path) ? path : configured;
  };
  const { http } = config;
  return {
    ...config,
    ...(http?.tls === undefined
      ? {}
      : {
          http: {
            ...http,
            tls: { ...http.tls, key: credential(KEY_CREDENTIALS.tls_key, http.tls.key) },
          },
        }),
    ssh: { ...config.ssh, host_key: credential(KEY_CREDENTIALS.host_key, config.ssh.host_key) },
    ca: { ...config.ca, user_key: credential(KEY_CREDENTIALS.user_ca, config.ca.user_key) },
    recordings: {
      ...config.recordings,
      signing_key: credential(KEY_CREDENTIALS.signing_key, config.recordings.signing_key),
    },
  };
}
