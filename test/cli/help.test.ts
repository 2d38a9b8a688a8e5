// `--help` for the `portcullis` command and every subcommand (exit 0, no
// config needed), and usage errors (unknown subcommand or option, missing
// argument) exiting 2.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeDir, runCli } from "./cli.js";

/** Each command path with options its help must mention. */
const COMMANDS: ReadonlyArray<{ path: string[]; mentions: string[] }> = [
  { path: [], mentions: ["--config <file>", "init", "serve", "demo", "ca", "vault", "targets"] },
  { path: ["init"], mentions: ["[dir]", "--listen <host:port>"] },
  { path: ["serve"], mentions: [] },
  { path: ["demo"], mentions: ["--port <port>"] },
  { path: ["ca"], mentions: ["sign", "revoke"] },
  { path: ["ca", "sign"], mentions: ["--user <email>", "--groups <a,b>", "--ttl <duration>"] },
  { path: ["ca", "revoke"], mentions: ["<serial|keyid>"] },
  { path: ["vault"], mentions: ["add", "generate", "list", "remove"] },
  { path: ["vault", "add"], mentions: ["<name>", "--key-file <file>", "--replace"] },
  { path: ["vault", "generate"], mentions: ["<name>", "--type <type>"] },
  { path: ["vault", "list"], mentions: [] },
  { path: ["vault", "remove"], mentions: ["<name>"] },
  { path: ["targets"], mentions: ["scan"] },
  { path: ["targets", "scan"], mentions: ["<target>", "--type <algorithm>"] },
];

const USAGE_ERRORS: ReadonlyArray<{ args: string[]; message: RegExp }> = [
  { args: ["bogus"], message: /^portcullis: unknown command 'bogus'$/m },
  { args: ["vault", "bogus"], message: /^portcullis: unknown command 'bogus'$/m },
  { args: ["--bogus"], message: /^portcullis: unknown option '--bogus'$/m },
  { args: ["vault", "list", "--bogus"], message: /^portcullis: unknown option '--bogus'$/m },
  {
    args: ["ca", "sign", "--user"],
    message: /^portcullis: option '--user <email>' argument missing$/m,
  },
  { args: ["vault", "generate"], message: /^portcullis: missing required argument 'name'$/m },
  { args: ["vault", "list", "extra"], message: /^portcullis: too many arguments/m },
  { args: ["vault"], message: /^Usage: portcullis vault /m },
  {
    args: ["demo", "--port", "x"],
    message:
      /^portcullis: option '--port <port>' argument 'x' is invalid\. expected a port number 0-65535$/m,
  },
];

describe("portcullis --help", () => {
  let cwd: string;

  before(() => {
    cwd = makeTempDir("help");
  });
  after(() => removeDir(cwd));

  for (const { path, mentions } of COMMANDS) {
    const name = ["portcullis", ...path].join(" ");
    it(`${name} --help prints its usage and exits 0 without a config`, async () => {
      const result = await runCli([...path, "--help"], { cwd });
      assert.equal(result.stderr, "");
      assert.ok(result.stdout.startsWith(`Usage: ${name} `), result.stdout);
      for (const mention of mentions) assert.ok(result.stdout.includes(mention), mention);
      assert.equal(result.code, 0);
    });
  }
});

describe("portcullis usage errors", () => {
  let cwd: string;

  before(() => {
    cwd = makeTempDir("usage");
  });
  after(() => removeDir(cwd));

  for (const { args, message } of USAGE_ERRORS) {
    it(`portcullis ${args.join(" ")} exits 2`, async () => {
      const result = await runCli(args, { cwd });
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.equal(result.stdout, "");
      assert.equal(result.code, 2);
    });
  }
});
