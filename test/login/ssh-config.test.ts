// The ssh config and known_hosts login writes (src/login/ssh-config.ts):
// known_hosts names with the port, the host CA line re-keyed to them,
// quoting of paths, and the Include line added exactly once (through a
// symlinked ~/.ssh/config too).

import assert from "node:assert/strict";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { bastionPaths, loginPaths } from "../../src/login/paths.js";
import {
  configPath,
  hostBlock,
  hostCaLine,
  installSshConfig,
  knownHostsName,
  pinnedHostKeyLine,
  withInclude,
} from "../../src/login/ssh-config.js";
import { generateKeyPair } from "../../src/ssh/keygen.js";

const CA_KEY = generateKeyPair("ed25519").publicKey.split(" ").slice(0, 2).join(" ");

describe("login ssh config", () => {
  it("names the bastion in known_hosts as ssh looks it up", () => {
    assert.equal(knownHostsName("bastion.example.com", 22), "bastion.example.com");
    assert.equal(knownHostsName("127.0.0.1", 2222), "[127.0.0.1]:2222");
  });

  it("re-keys the server's @cert-authority line to the bastion's name and port", () => {
    const line = hostCaLine(
      `@cert-authority host1,localhost,127.0.0.1 ${CA_KEY} portcullis host CA`,
      "127.0.0.1",
      2222,
    );
    assert.equal(line, `@cert-authority [127.0.0.1]:2222 ${CA_KEY} portcullis host CA`);
  });

  it("refuses a host_ca that is not an @cert-authority line or has a broken key", () => {
    assert.throws(() => hostCaLine(`127.0.0.1 ${CA_KEY}`, "h", 22), { code: "ERR_LOGIN_SERVER" });
    assert.throws(() => hostCaLine("@cert-authority h ssh-ed25519 AAAA", "h", 22), {
      code: "ERR_LOGIN_SERVER",
      message: /^the server's discovery document: host_ca: /,
    });
  });

  it("pins a presented host key", () => {
    assert.equal(pinnedHostKeyLine(CA_KEY, "b.example", 2200), `[b.example]:2200 ${CA_KEY}`);
  });

  it("quotes paths and escapes ssh's % tokens", () => {
    assert.equal(configPath("/home/a b/100%/k"), '"/home/a b/100%%/k"');
    assert.throws(() => configPath('/home/"x"'), { code: "ERR_LOGIN_PATH" });
  });

  it("adds the Include line at the top once", () => {
    const once = withInclude("Host *\n  ServerAliveInterval 30\n", "/h/.ssh/portcullis/config");
    assert.match(
      once ?? "",
      /^# Added by portcullis login.*\nInclude "\/h\/\.ssh\/portcullis\/config"\n\nHost \*\n/,
    );
    assert.equal(withInclude(once ?? "", "/h/.ssh/portcullis/config"), undefined);
  });

  it("writes the block, known_hosts and included config; keeps a symlinked ~/.ssh/config a symlink", () => {
    const home = mkdtempSync(join(tmpdir(), "portcullis-login-config-"));
    try {
      mkdirSync(join(home, ".ssh"));
      mkdirSync(join(home, "dotfiles"));
      writeFileSync(join(home, "dotfiles", "ssh_config"), "Host old\n");
      symlinkSync(join(home, "dotfiles", "ssh_config"), join(home, ".ssh", "config"));
      const paths = loginPaths(home);
      const files = bastionPaths(paths, "bastion.example.com");
      const block = hostBlock({
        server: "https://b",
        host: "bastion.example.com",
        port: 22,
        files,
      });
      installSshConfig(paths, files, { block, knownHosts: "KNOWN\n" });
      assert.ok(lstatSync(join(home, ".ssh", "config")).isSymbolicLink());
      assert.match(
        readFileSync(join(home, "dotfiles", "ssh_config"), "utf8"),
        /^# Added.*\nInclude ".*portcullis\/config"\n\nHost old\n$/,
      );
      assert.equal(
        readFileSync(paths.includedConfig, "utf8").split("\n")[1],
        `Include "${paths.dir}/*.conf"`,
      );
      assert.equal(readFileSync(files.configBlock, "utf8"), block);
      assert.match(
        block,
        /\nHost bastion\.example\.com\n {2}HostName bastion\.example\.com\n {2}Port 22\n/,
      );
      assert.equal(readFileSync(files.knownHosts, "utf8"), "KNOWN\n");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("refuses a host name unfit for a file name or a Host pattern", () => {
    const paths = loginPaths("/h");
    for (const host of ["../etc", "a b", "*", ".hidden", "a/b"]) {
      assert.throws(() => bastionPaths(paths, host), { code: "ERR_LOGIN_SERVER" }, host);
    }
  });
});
