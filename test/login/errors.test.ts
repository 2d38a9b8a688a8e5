// `portcullis login` failing clearly, as a real child process: server or
// identity provider unreachable, plain http to a remote server, no server
// at all, the person refusing the device code at a real issuer, and a code
// that expires (a real oidc-provider with a 2-second device code lifetime).
// Nothing is written to the home directory when sign-in fails.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Provider from "oidc-provider";
import { DEVICE_CODE_GRANT, type DemoIdentityProvider } from "../../src/idp/index.js";
import { portcullis } from "../harness/bastion.js";
import { generateTestKey } from "../harness/keys.js";
import { CLIENT_ID, startPeopleIdp } from "../oidc/fixtures.js";
import { TestBrowser } from "./browser.js";
import {
  devicePrompt,
  loginEnvironment,
  makeTestHome,
  startDiscoveryStub,
  startLogin,
  type TestHome,
} from "./helpers.js";

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const keyDir = mkdtempSync(join(tmpdir(), "portcullis-login-errors-"));
after(() => rmSync(keyDir, { recursive: true, force: true }));
const hostKey = generateTestKey(keyDir);

function discoveryFor(issuer: string) {
  return {
    issuer,
    client_id: CLIENT_ID,
    user_ca_public_keys: [],
    ssh: { host: "127.0.0.1", port: 2222 },
    host_key: hostKey.publicLine,
    host_ca: null,
  };
}

/** A real oidc-provider whose device codes live `seconds`. */
async function startShortLivedCodeIdp(seconds: number) {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        application_type: "native",
        token_endpoint_auth_method: "none",
        grant_types: [DEVICE_CODE_GRANT],
        response_types: [],
        redirect_uris: [],
      },
    ],
    features: { deviceFlow: { enabled: true }, devInteractions: { enabled: false } },
    ttl: { DeviceCode: seconds },
  });
  server.on("request", provider.callback());
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe("portcullis login errors", () => {
  const homes: TestHome[] = [];
  after(() => {
    for (const home of homes) home.remove();
  });

  function newHome(): TestHome {
    const home = makeTestHome();
    homes.push(home);
    return home;
  }

  async function failedLogin(args: string[]) {
    const home = newHome();
    const result = await portcullis(["login", ...args], { env: loginEnvironment(home) });
    assert.ok(!existsSync(join(home.dir, ".ssh")), "nothing written");
    return result;
  }

  it("an unreachable server is named with the reason, status 1", async () => {
    const port = await closedPort();
    const result = await failedLogin(["--server", `http://127.0.0.1:${port}`]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `portcullis: cannot reach the Portcullis server at http://127.0.0.1:${port}: ECONNREFUSED\n`,
    );
  });

  it("an unreachable identity provider is named with the reason", async () => {
    const issuer = `http://127.0.0.1:${await closedPort()}`;
    const stub = await startDiscoveryStub(discoveryFor(issuer));
    try {
      const result = await failedLogin(["--server", stub.url]);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `portcullis: cannot reach the identity provider at ${issuer}: ECONNREFUSED\n`,
      );
    } finally {
      await stub.close();
    }
  });

  it("a server that is not Portcullis is reported as such", async () => {
    const stub = await startDiscoveryStub({ hello: "world" });
    try {
      const result = await failedLogin(["--server", stub.url]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /^portcullis: .*\/\.well-known\/portcullis answered an unexpected document \(issuer: /,
      );
    } finally {
      await stub.close();
    }
  });

  it("plain http to a remote server and a missing server are usage errors (status 2)", async () => {
    const remote = await failedLogin(["--server", "http://bastion.example.com"]);
    assert.equal(remote.code, 2);
    assert.equal(
      remote.stderr,
      "portcullis: the server http://bastion.example.com must use https:// (plain http only on a loopback address)\n",
    );
    const none = await failedLogin([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^portcullis: no server: pass --server URL/);
  });

  describe("at a real identity provider", () => {
    let idp: DemoIdentityProvider;
    let stub: Awaited<ReturnType<typeof startDiscoveryStub>>;
    before(async () => {
      idp = await startPeopleIdp();
      stub = await startDiscoveryStub(discoveryFor(idp.issuer));
    });
    after(async () => {
      await stub?.close();
      await idp?.close();
    });

    it("a refused device code ends login with access_denied", async () => {
      const home = newHome();
      const pty = startLogin(home, ["--server", stub.url]);
      try {
        const { uri, code } = await devicePrompt(pty);
        await new TestBrowser().refuseDeviceCode(uri, code);
        assert.equal((await pty.exit(20_000)).exitCode, 1);
      } finally {
        pty.kill();
      }
      assert.match(
        pty.output,
        /portcullis: sign-in was cancelled or refused at the identity provider \(access_denied/,
      );
      assert.ok(!existsSync(join(home.dir, ".ssh")));
    });
  });

  it("a device code that expires before sign-in says so", async () => {
    const idp = await startShortLivedCodeIdp(2);
    const stub = await startDiscoveryStub(discoveryFor(idp.issuer));
    const home = newHome();
    const pty = startLogin(home, ["--server", stub.url]);
    try {
      await devicePrompt(pty);
      assert.equal((await pty.exit(20_000)).exitCode, 1);
      assert.match(
        pty.output,
        /portcullis: the sign-in code expired before sign-in finished: run portcullis login again/,
      );
    } finally {
      pty.kill();
      await stub.close();
      await idp.close();
    }
  });
});
