// Configuration and policy errors through `portcullis serve`: each problem on
// one line as FILE:LINE:COL: key: message, exit status 2, no stack trace, and
// the process exits at once instead of starting. Also which config file is
// found: --config, then $PORTCULLIS_CONFIG, then ./portcullis.yaml.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assertFailure,
  type CliOptions,
  CliProcess,
  type InitializedSetup,
  initSetup,
  type LoopbackServer,
  listenOnLoopback,
  makeTempDir,
  removeDir,
  runCli,
} from "./cli.js";

/** A failing `serve` must exit well within this; a hang fails the test. */
const PROMPT_EXIT_MS = 10_000;
const NOT_FOUND_HINT = "(use --config FILE or $PORTCULLIS_CONFIG)";

const serve = (args: readonly string[], options: CliOptions = {}) =>
  runCli(["serve", ...args], { ...options, timeoutMs: PROMPT_EXIT_MS });

/** Line 4, column 3 holds the unknown key `listn`. */
const UNKNOWN_KEY_CONFIG = `# a config with a typo
ssh:
  listen: "127.0.0.1:0"
  listn: "127.0.0.1:0"
`;
const unknownKeyProblem = (file: string) => `${file}:4:3: ssh.listn: unknown key "listn"`;

describe("portcullis serve with a bad config", () => {
  let dir: string;
  const write = (relativePath: string, text: string) => {
    const path = join(dir, relativePath);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
    return path;
  };

  before(() => {
    dir = makeTempDir("config-errors");
  });
  after(() => removeDir(dir));

  it("reports an unknown key at the key, with file, line and column", async () => {
    const path = write("unknown/portcullis.yaml", UNKNOWN_KEY_CONFIG);
    const result = await serve(["--config", path]);
    assertFailure(result, { code: 2, stderr: [unknownKeyProblem(path)] });
  });

  it("reports every wrong type, sorted by position", async () => {
    const path = write(
      "types.yaml",
      [
        "logging:",
        "  level: loud",
        "recordings:",
        '  record_input: "yes"',
        "ssh:",
        "  login_timeout: 30",
        "",
      ].join("\n"),
    );
    const result = await serve(["--config", path]);
    assertFailure(result, {
      code: 2,
      stderr: [
        `${path}:2:10: logging.level: expected one of trace, debug, info, warn, error, fatal`,
        `${path}:4:17: recordings.record_input: expected a boolean, got a string`,
        `${path}:6:18: ssh.login_timeout: expected a duration such as 500ms, 90s, 10m, 8h or 1h30m`,
      ],
    });
  });

  it("reports a duplicate key as a YAML error", async () => {
    const path = write(
      "duplicate.yaml",
      'ssh:\n  listen: "127.0.0.1:0"\n  listen: "127.0.0.1:1"\n',
    );
    const result = await serve(["--config", path]);
    assertFailure(result, { code: 2, stderr: [`${path}:3:3: Map keys must be unique`] });
  });

  it("names a missing --config file and where else a config may come from", async () => {
    const path = join(dir, "missing.yaml");
    const result = await serve(["--config", path]);
    assertFailure(result, {
      code: 2,
      stderr: [`config file not found: ${path} ${NOT_FOUND_HINT}`],
    });
  });

  it("names a relative --config path as given, resolved against the cwd", async () => {
    write("relative/portcullis.yaml", UNKNOWN_KEY_CONFIG);
    const result = await serve(["--config", "relative/portcullis.yaml"], { cwd: dir });
    assertFailure(result, {
      code: 2,
      stderr: [unknownKeyProblem("relative/portcullis.yaml")],
    });
  });

  it("finds the config through $PORTCULLIS_CONFIG", async () => {
    const path = write("from-env/portcullis.yaml", UNKNOWN_KEY_CONFIG);
    const result = await serve([], { cwd: dir, env: { PORTCULLIS_CONFIG: path } });
    assertFailure(result, { code: 2, stderr: [unknownKeyProblem(path)] });
  });

  it("names a missing $PORTCULLIS_CONFIG file without falling back to ./portcullis.yaml", async () => {
    const cwd = join(dir, "cwd-with-config");
    write("cwd-with-config/portcullis.yaml", UNKNOWN_KEY_CONFIG);
    const result = await serve([], { cwd, env: { PORTCULLIS_CONFIG: "elsewhere.yaml" } });
    assertFailure(result, {
      code: 2,
      stderr: [`config file not found: elsewhere.yaml ${NOT_FOUND_HINT}`],
    });
  });

  it("finds ./portcullis.yaml in the cwd when neither --config nor the variable is set", async () => {
    const cwd = join(dir, "cwd-with-config");
    write("cwd-with-config/portcullis.yaml", UNKNOWN_KEY_CONFIG);
    const unset = await serve([], { cwd });
    assertFailure(unset, { code: 2, stderr: [unknownKeyProblem("portcullis.yaml")] });
    const empty = await serve([], { cwd, env: { PORTCULLIS_CONFIG: "" } });
    assertFailure(empty, { code: 2, stderr: [unknownKeyProblem("portcullis.yaml")] });
  });

  it("names ./portcullis.yaml when there is no config anywhere", async () => {
    const cwd = join(dir, "empty");
    mkdirSync(cwd);
    const result = await serve([], { cwd });
    assertFailure(result, {
      code: 2,
      stderr: [`config file not found: portcullis.yaml ${NOT_FOUND_HINT}`],
    });
  });

  it("prefers --config over $PORTCULLIS_CONFIG", async () => {
    const explicit = write("explicit.yaml", UNKNOWN_KEY_CONFIG);
    const fromEnv = write("from-env-ignored.yaml", "bogus: 1\n");
    const result = await serve(["--config", explicit], { env: { PORTCULLIS_CONFIG: fromEnv } });
    assertFailure(result, { code: 2, stderr: [unknownKeyProblem(explicit)] });
  });
});

describe("portcullis serve with a bad policy or revocation file", () => {
  let dir: string;
  let setup: InitializedSetup;
  let policyDir: string;
  const writePolicy = (file: string, text: string) => {
    const path = join(policyDir, file);
    writeFileSync(path, text);
    return path;
  };

  before(async () => {
    dir = makeTempDir("policy-errors");
    setup = await initSetup(dir);
    policyDir = join(setup.dir, "policies");
  });
  after(() => removeDir(dir));

  it("reports an unknown key in an access entry with the policy file, line and column", async () => {
    const path = writePolicy(
      "30-access.yaml",
      [
        "access:",
        "  - name: ops",
        "    subjects: { groups: [ops] }",
        "    targets: { names: [web1] }",
        "    colour: blue",
        "",
      ].join("\n"),
    );
    const result = await serve(["--config", setup.configPath]);
    assertFailure(result, {
      code: 2,
      stderr: [`${path}:5:5: access[0].colour: unknown key "colour"`],
    });
  });

  it("reports a bad regex, together with the other file's problem, sorted by file", async () => {
    const path = writePolicy(
      "20-rulesets.yaml",
      [
        "rulesets:",
        "  shell:",
        "    default: allow",
        "    rules:",
        "      - deny: { regex: '([a-z' }",
        "",
      ].join("\n"),
    );
    const result = await serve(["--config", setup.configPath]);
    assertFailure(result, {
      code: 2,
      stderr: [
        `${path}:5:24: rulesets.shell.rules[0].deny.regex: invalid regex: Unterminated character class`,
        `${join(policyDir, "30-access.yaml")}:5:5: access[0].colour: unknown key "colour"`,
      ],
    });
  });

  it("starts once the policy is fixed, and stops with status 0 on SIGTERM", async () => {
    rmSync(join(policyDir, "20-rulesets.yaml"));
    writePolicy("30-access.yaml", "access: []\n");
    const server = new CliProcess(["--config", setup.configPath, "serve"]);
    try {
      await server.waitFor("stderr", /ssh listening on 127\.0\.0\.1:\d+\n/);
      server.child.kill("SIGTERM");
      const result = await server.result(PROMPT_EXIT_MS);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
    } finally {
      server.stop();
    }
  });

  it("reports a corrupt revocation file with its line, and does not start", async () => {
    const path = join(setup.dir, "data/revoked.txt");
    writeFileSync(path, "serial:1\nnot an entry\n");
    const result = await serve(["--config", setup.configPath]);
    assertFailure(result, {
      code: 1,
      stderr: [`${path}:2: expected "serial:NUMBER" or "key-id:ID"`],
    });
  });
});

describe("portcullis serve on a port in use", () => {
  let dir: string;
  let setup: InitializedSetup;
  let blocker: LoopbackServer;
  let port: number;

  before(async () => {
    dir = makeTempDir("listen-error");
    setup = await initSetup(dir);
    blocker = await listenOnLoopback();
    port = blocker.port;
    const config = readFileSync(setup.configPath, "utf8");
    writeFileSync(setup.configPath, config.replace("127.0.0.1:0", `127.0.0.1:${port}`));
  });
  after(async () => {
    await blocker?.close();
    removeDir(dir);
  });

  it("reports the address in one line and exits", async () => {
    const result = await runCli(["--config", setup.configPath, "serve"], { timeoutMs: 5_000 });
    assertFailure(result, { code: 1, stderr: new RegExp(`cannot listen on 127.0.0.1:${port}`) });
  });
});
