// The install path an admin takes: `npm pack`, then `npm install -g` of the
// tarball into a clean prefix, then the installed `portcullis` binary:
// `--help`, `init`, `doctor`, and `demo` with one real ssh command through
// it (node-pty, the patched ssh2 and better-sqlite3 loaded from the install).
//
// Dependencies come from the local npm cache when it has them
// (--prefer-offline), else from the registry. better-sqlite3 gets the binary
// that `npm install` compiled for this checkout, through prebuild-install's
// own local-prebuilds directory, the way a downloaded prebuilt binary
// arrives: compiling SQLite again takes minutes, and the compile from source
// is what `npm install` of the checkout already did with the same compiler.
// The other native addons (node-pty, ssh2, cpu-features) compile from source.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir, removeDir } from "../cli/cli.js";
import { type CommandResult, run } from "../harness/bastion.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PACKAGE_NAME = (
  JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string }
).name;
const INSTALL_TIMEOUT_MS = 8 * 60_000;
const BANNER_END = /^Press Ctrl-C to stop/m;

/** The test's own node first on PATH: npm, node-gyp and the installed bin's `env node` use it. */
const ENV = {
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
  PORTCULLIS_CONFIG: "",
  PORTCULLIS_VAULT_KEY: "",
  CREDENTIALS_DIRECTORY: "",
};

function assertSucceeded(result: CommandResult, what: string): void {
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
}

/** better-sqlite3's compiled addon as prebuild-install names a prebuilt tarball; undefined without a build. */
async function localPrebuilds(dir: string): Promise<string | undefined> {
  const moduleDir = join(ROOT, "node_modules", "better-sqlite3");
  const addon = "build/Release/better_sqlite3.node";
  if (!existsSync(join(moduleDir, addon))) return undefined;
  mkdirSync(dir);
  const { version } = JSON.parse(readFileSync(join(moduleDir, "package.json"), "utf8"));
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  assertSucceeded(await run("tar", ["-czf", join(dir, name), "-C", moduleDir, addon]), "tar");
  return dir;
}

describe("npm pack, npm install -g into a clean prefix, the installed portcullis", () => {
  let tmp: string;
  let tarball: string;
  let prefix: string;
  let bin: string;
  let installedPackage: string;
  let setup: string;

  const portcullis = (args: readonly string[]) => run(bin, args, { env: ENV, timeoutMs: 60_000 });

  before(async () => {
    tmp = makeTempDir("install");
    const pack = await run(
      "npm",
      ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp, ROOT],
      { env: ENV, timeoutMs: 60_000 },
    );
    assertSucceeded(pack, "npm pack");
    tarball = join(tmp, (JSON.parse(pack.stdout) as [{ filename: string }])[0].filename);
    prefix = join(tmp, "prefix");
    const prebuilds = await localPrebuilds(join(tmp, "prebuilds"));
    const started = Date.now();
    const install = await run(
      "npm",
      ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball],
      {
        env: {
          ...ENV,
          ...(prebuilds !== undefined
            ? { npm_config_better_sqlite3_local_prebuilds: prebuilds }
            : {}),
        },
        timeoutMs: INSTALL_TIMEOUT_MS,
      },
    );
    assertSucceeded(install, "npm install -g");
    process.stderr.write(
      `# npm install -g of the tarball: ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
    bin = join(prefix, "bin", "portcullis");
    installedPackage = join(prefix, "lib", "node_modules", PACKAGE_NAME);
    setup = join(tmp, "etc-portcullis");
  });
  after(() => removeDir(tmp));

  it("packs the compiled program, the example policies, the unit, the viewer assets and the patches, and no sources or tests", async () => {
    const listing = await run("tar", ["-tzf", tarball]);
    const files = listing.stdout.split("\n").filter(Boolean);
    for (const file of [
      "package/dist/src/cli/main.js",
      "package/policies/10-access.yaml",
      "package/systemd/portcullis.service",
      "package/src/viewer/assets/viewer.js",
      "package/patches/ssh2+1.17.0.patch",
    ]) {
      assert.ok(files.includes(file), `${file} is not in the tarball`);
    }
    assert.deepEqual(
      files.filter((file) => /^package\/(dist\/)?test\/|\.ts$/.test(file)),
      [],
    );
  });

  it("installs the bin and applies the ssh2 patch to the installed ssh2", () => {
    assert.ok(existsSync(bin));
    const client = readFileSync(join(installedPackage, "node_modules/ssh2/lib/client.js"), "utf8");
    assert.match(client, /Portcullis patch/);
  });

  it("runs --help from the installed bin", async () => {
    const result = await portcullis(["--help"]);
    assertSucceeded(result, "portcullis --help");
    for (const command of ["init", "serve", "doctor", "login", "vault"]) {
      assert.match(result.stdout, new RegExp(`^ {2}${command}\\b`, "m"));
    }
  });

  it("sets up a directory with init, and doctor passes on it once the examples' targets are replaced", async () => {
    const init = await portcullis(["init", setup, "--listen", "127.0.0.1:2222"]);
    assertSucceeded(init, "portcullis init");
    assert.ok(readdirSync(join(setup, "policies")).includes("10-access.yaml"));
    // The example targets name vault entries and addresses that do not exist here.
    for (const file of readdirSync(join(setup, "policies"))) rmSync(join(setup, "policies", file));
    writeFileSync(join(setup, "policies", "00-empty.yaml"), "targets: {}\n");
    const config = join(setup, "portcullis.yaml");
    // Creates the database, so that doctor opens it with the installed better-sqlite3.
    assertSucceeded(
      await portcullis(["--config", config, "recordings", "list"]),
      "recordings list",
    );
    const doctor = await portcullis(["doctor", "--config", config]);
    assertSucceeded(doctor, "portcullis doctor");
    assert.doesNotMatch(doctor.stdout, /^FAIL/m);
    assert.match(doctor.stdout, /^ok {4}database: .*portcullis\.db, schema version \d+$/m);
    assert.match(doctor.stdout, /^ok {4}ssh\.host_key: .* \(mode 0600\)$/m);
  });

  it("runs the demo, and a command through it with its ready-made certificate", async () => {
    const demo = spawn(bin, ["demo", "--port", "0", "--http-port", "0"], {
      cwd: tmp,
      env: { ...process.env, ...ENV, TMPDIR: tmp },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const banner = await outputUntil(demo, BANNER_END);
      const [ssh = "ssh", ...args] = /^ {2}(ssh -i .+)$/m.exec(banner)?.[1]?.split(" ") ?? [];
      const result = await run(ssh, [...args, "-o", "BatchMode=yes", "echo installed-$((1+1))"]);
      assert.equal(result.stdout, "installed-2\n", result.stderr);
    } finally {
      demo.kill("SIGTERM");
    }
  });
});

/** Everything `child` printed on stdout up to the first match of `pattern`. */
function outputUntil(child: ReturnType<typeof spawn>, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(
      () => reject(new Error(`no ${pattern} in 60 s: ${stdout}${stderr}`)),
      60_000,
    );
    child.stderr?.on("data", (data) => {
      stderr += data;
    });
    child.stdout?.on("data", (data) => {
      stdout += data;
      if (!pattern.test(stdout)) return;
      clearTimeout(timer);
      resolve(stdout);
    });
    child.once("close", () => {
      clearTimeout(timer);
      reject(new Error(`exited before ${pattern}: ${stdout}${stderr}`));
    });
  });
}
