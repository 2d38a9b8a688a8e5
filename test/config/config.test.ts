// portcullis.yaml: discovery order (--config > $PORTCULLIS_CONFIG >
// ./portcullis.yaml), defaults, path resolution against the file's
// directory, and exact `file:line:col: key.path: message` problems.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/util/errors.js";

const root = mkdtempSync(join(tmpdir(), "portcullis-config-"));
after(() => rmSync(root, { recursive: true, force: true }));

function problemsOf(text: string, file = "portcullis.yaml"): readonly string[] {
  try {
    parseConfig(text, file, root);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.exitCode, 2);
    return error.problems;
  }
  assert.fail("config parsed without problems");
}

describe("loadConfig discovery", () => {
  const cwd = join(root, "cwd");
  const etc = join(root, "etc");
  mkdirSync(cwd);
  mkdirSync(etc);
  writeFileSync(join(cwd, "portcullis.yaml"), "logging: { level: info }\n");
  writeFileSync(join(etc, "from-env.yaml"), "logging: { level: warn }\n");
  writeFileSync(join(cwd, "explicit.yaml"), "logging: { level: debug }\n");

  test("--config wins over the environment", () => {
    const loaded = loadConfig(
      "explicit.yaml",
      { PORTCULLIS_CONFIG: join(etc, "from-env.yaml") },
      cwd,
    );
    assert.equal(loaded.config.logging.level, "debug");
    assert.equal(loaded.path, join(cwd, "explicit.yaml"));
    assert.equal(loaded.dir, cwd);
  });

  test("$PORTCULLIS_CONFIG wins over ./portcullis.yaml", () => {
    const loaded = loadConfig(undefined, { PORTCULLIS_CONFIG: join(etc, "from-env.yaml") }, cwd);
    assert.equal(loaded.config.logging.level, "warn");
    assert.equal(loaded.dir, etc);
  });

  test("./portcullis.yaml otherwise (an empty variable counts as unset)", () => {
    const loaded = loadConfig(undefined, { PORTCULLIS_CONFIG: "" }, cwd);
    assert.equal(loaded.config.logging.level, "info");
    assert.equal(loaded.path, join(cwd, "portcullis.yaml"));
  });

  test("a missing file is one clear line", () => {
    assert.throws(() => loadConfig("nope.yaml", {}, cwd), {
      name: "ConfigError",
      message: "config file not found: nope.yaml (use --config FILE or $PORTCULLIS_CONFIG)",
    });
    assert.throws(() => loadConfig(undefined, {}, etc), {
      name: "ConfigError",
      message: "config file not found: portcullis.yaml (use --config FILE or $PORTCULLIS_CONFIG)",
    });
  });

  test("relative paths resolve against the config file's directory, not the cwd", () => {
    writeFileSync(
      join(etc, "paths.yaml"),
      "policy: { dir: ./rules }\nlogging: { audit_file: /var/log/audit.log }\n",
    );
    const { config } = loadConfig(join(etc, "paths.yaml"), {}, cwd);
    assert.equal(config.policy.dir, join(etc, "rules"));
    assert.equal(config.logging.audit_file, "/var/log/audit.log");
    assert.equal(config.database.path, join(etc, "data/portcullis.db"));
  });

  test("under systemd, private keys passed as credentials are read from $CREDENTIALS_DIRECTORY", () => {
    const credentials = join(root, "credentials");
    mkdirSync(credentials);
    writeFileSync(join(credentials, "host_ed25519"), "");
    writeFileSync(join(credentials, "user_ca"), "");
    writeFileSync(join(credentials, "tls.key"), "");
    writeFileSync(
      join(etc, "keys.yaml"),
      "ca: { user_key: /etc/pc/user_ca }\nhttp: { listen: 0.0.0.0:8443, tls: { cert: c.pem, key: k.pem } }\n",
    );
    const file = join(etc, "keys.yaml");
    const service = loadConfig(file, { CREDENTIALS_DIRECTORY: credentials }, cwd).config;
    assert.equal(service.ssh.host_key, join(credentials, "host_ed25519"));
    assert.equal(service.ca.user_key, join(credentials, "user_ca"));
    assert.equal(service.http?.tls?.key, join(credentials, "tls.key"));
    assert.equal(service.http?.tls?.cert, join(etc, "c.pem"));
    assert.equal(service.recordings.signing_key, join(etc, "keys/audit_ed25519"), "not passed");
    const admin = loadConfig(file, {}, cwd).config;
    assert.equal(admin.ssh.host_key, join(etc, "keys/host_ed25519"));
    assert.equal(admin.ca.user_key, "/etc/pc/user_ca");
  });

  test("stdout carries the log unless only a file is configured", () => {
    assert.equal(parseConfig("", "p.yaml", root).logging.stdout, true);
    const file = parseConfig("logging: { audit_file: a.log }\n", "p.yaml", root).logging;
    assert.equal(file.stdout, false);
    const both = parseConfig("logging: { audit_file: a.log, stdout: true }\n", "p.yaml", root);
    assert.equal(both.logging.stdout, true);
  });
});

describe("config defaults", () => {
  test("an empty file is a valid config", () => {
    assert.deepEqual(
      parseConfig("", "portcullis.yaml", "/srv/pc"),
      parseConfig("{}\n", "portcullis.yaml", "/srv/pc"),
    );
  });

  test("every default", () => {
    assert.deepEqual(parseConfig("# nothing\n", "portcullis.yaml", "/srv/pc"), {
      ssh: {
        listen: { host: "0.0.0.0", port: 2222 },
        host_key: "/srv/pc/keys/host_ed25519",
        login_timeout: 30_000,
        upstream_timeout: 10_000,
        shell_startup_timeout: 15_000,
        shutdown_grace: 30_000,
        host_certificate: "/srv/pc/keys/host_ed25519-cert.pub",
        host_ca: "/srv/pc/keys/host_ca.pub",
        host_certificate_ttl: 31_536_000_000,
      },
      ca: {
        user_key: "/srv/pc/keys/user_ca",
        extra_trusted: [],
        revocation_file: "/srv/pc/data/revoked.txt",
        max_ttl: 86_400_000,
        default_ttl: 28_800_000,
        clock_skew: 120_000,
      },
      vault: { path: "/srv/pc/vault", master_key_file: "/srv/pc/keys/vault.key" },
      policy: { dir: "/srv/pc/policies" },
      recordings: {
        dir: "/srv/pc/recordings",
        record_input: false,
        fsync_interval_ms: 1000,
        signing_key: "/srv/pc/keys/audit_ed25519",
        mode: "required",
      },
      database: { path: "/srv/pc/data/portcullis.db" },
      approvals: { timeout: 600_000 },
      signals: { threshold: 100, half_life: 1_800_000 },
      viewer: {
        auditor_groups: [],
        approver_groups: [],
        session_idle: 1_800_000,
        session_max: 43_200_000,
        share_max_ttl: 604_800_000,
      },
      logging: { level: "info", stdout: true },
    });
  });

  test("optional sections get their own defaults when present", () => {
    const config = parseConfig(
      "http: { public_url: https://bastion.example.com }\noidc: { issuer: https://idp.example.com, client_id: portcullis }\n",
      "portcullis.yaml",
      "/srv/pc",
    );
    assert.deepEqual(config.http, {
      listen: { host: "127.0.0.1", port: 8080 },
      public_url: "https://bastion.example.com",
      rate_limit: { max: 10, window: 60_000 },
    });
    assert.deepEqual(config.oidc, {
      issuer: "https://idp.example.com",
      client_id: "portcullis",
      username_claim: "email",
      groups_claim: "groups",
      cert_ttl: 28_800_000,
      groups: [],
      group_map: {},
      required_claims: {},
      username_prefix: "",
      cap_to_token_lifetime: false,
      workloads: [],
    });
  });

  test("listen addresses, durations and TLS paths", () => {
    const config = parseConfig(
      'ssh: { listen: "[::1]:0", login_timeout: 1m30s }\nhttp: { listen: "localhost:8443", tls: { cert: tls/cert.pem, key: tls/key.pem } }\n',
      "portcullis.yaml",
      "/srv/pc",
    );
    assert.deepEqual(config.ssh.listen, { host: "::1", port: 0 });
    assert.equal(config.ssh.login_timeout, 90_000);
    assert.deepEqual(config.http?.listen, { host: "localhost", port: 8443 });
    assert.deepEqual(config.http?.tls, {
      cert: "/srv/pc/tls/cert.pem",
      key: "/srv/pc/tls/key.pem",
    });
  });

  test("recording retention and mode", () => {
    const config = parseConfig(
      "recordings: { retention: 365d, mode: best_effort }\n",
      "portcullis.yaml",
      "/srv/pc",
    );
    assert.equal(config.recordings.retention, 365 * 86_400_000);
    assert.equal(config.recordings.mode, "best_effort");
    assert.deepEqual(problemsOf("recordings: { retention: 12h, mode: off }\n"), [
      "portcullis.yaml:1:26: recordings.retention: must be at least 1d",
      "portcullis.yaml:1:37: recordings.mode: expected one of required, best_effort",
    ]);
  });
});

describe("config problems", () => {
  test("unknown keys, at the key", () => {
    assert.deepEqual(problemsOf("ssh:\n  listen: 0.0.0.0:2222\n  port: 22\nsecrets: {}\n"), [
      'portcullis.yaml:3:3: ssh.port: unknown key "port"',
      'portcullis.yaml:4:1: secrets: unknown key "secrets"',
    ]);
  });

  test("wrong types, at the value", () => {
    assert.deepEqual(
      problemsOf(
        "recordings:\n  record_input: yes\n  fsync_interval_ms: 0\nca: { extra_trusted: ssh-ed25519 }\n",
      ),
      [
        "portcullis.yaml:2:17: recordings.record_input: expected a boolean, got a string",
        "portcullis.yaml:3:22: recordings.fsync_interval_ms: must be greater than 0",
        "portcullis.yaml:4:22: ca.extra_trusted: expected a list, got a string",
      ],
    );
  });

  test("bad values", () => {
    assert.deepEqual(
      problemsOf(
        "ssh: { listen: 2222, login_timeout: 30 }\napprovals: { webhook: 'ftp://hooks' }\nlogging: { level: verbose }\n",
        "etc/pc.yaml",
      ),
      [
        "etc/pc.yaml:1:16: ssh.listen: expected host:port, e.g. 0.0.0.0:2222",
        "etc/pc.yaml:1:37: ssh.login_timeout: expected a duration such as 500ms, 90s, 10m, 8h or 1h30m",
        "etc/pc.yaml:2:23: approvals.webhook: expected an http:// or https:// URL",
        "etc/pc.yaml:3:19: logging.level: expected one of trace, debug, info, warn, error, fatal",
      ],
    );
  });

  test("missing required keys of an optional section", () => {
    assert.deepEqual(problemsOf("oidc:\n  issuer: https://idp.example.com\n"), [
      "portcullis.yaml:2:3: oidc.client_id: is required",
    ]);
  });

  test("TTLs must fit within ca.max_ttl", () => {
    assert.deepEqual(problemsOf("ca: { max_ttl: 4h, default_ttl: 8h }\n"), [
      "portcullis.yaml:1:33: ca.default_ttl: must not exceed max_ttl",
    ]);
    assert.deepEqual(problemsOf("oidc: { issuer: https://idp, client_id: pc, cert_ttl: 2d }\n"), [
      "portcullis.yaml:1:55: oidc.cert_ttl: must not exceed ca.max_ttl",
    ]);
  });

  test("YAML syntax errors", () => {
    assert.deepEqual(problemsOf("ssh:\n  listen: [\n"), [
      "portcullis.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
    assert.deepEqual(problemsOf("ssh: {}\nssh: {}\n"), [
      "portcullis.yaml:2:1: Map keys must be unique",
    ]);
  });
});
