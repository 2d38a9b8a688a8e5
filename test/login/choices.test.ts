// Small decisions of `portcullis login`: which server (flag, environment,
// remembered), which URLs may be plain http, and which browser command.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { browserCommand } from "../../src/login/open-browser.js";
import { chooseServer } from "../../src/login/remembered.js";
import { checkedUrl, isLoopbackHost } from "../../src/login/url-policy.js";

describe("login choices", () => {
  it("chooses --server, then $PORTCULLIS_SERVER, then the remembered server", () => {
    const state = { last_server: "https://last.example", servers: {} };
    assert.equal(
      chooseServer("https://flag.example/", "https://env.example", state),
      "https://flag.example",
    );
    assert.equal(chooseServer(undefined, "https://env.example", state), "https://env.example");
    assert.equal(chooseServer(undefined, undefined, state), "https://last.example");
    assert.throws(() => chooseServer(undefined, undefined, { servers: {} }), {
      code: "ERR_LOGIN_NO_SERVER",
      exitCode: 2,
    });
  });

  it("allows plain http only on loopback", () => {
    assert.equal(checkedUrl("https://b.example", "the server").insecure, false);
    assert.equal(checkedUrl("http://127.0.0.1:8080", "the server").insecure, true);
    assert.equal(checkedUrl("http://localhost:8080", "the server").insecure, true);
    assert.equal(checkedUrl("http://[::1]:8080", "the server").insecure, true);
    assert.ok(!isLoopbackHost("127.example.com"));
    assert.throws(() => checkedUrl("http://10.0.0.1", "the server"), {
      code: "ERR_LOGIN_URL",
      exitCode: 2,
    });
    assert.throws(() => checkedUrl("ftp://127.0.0.1", "the server"), { code: "ERR_LOGIN_URL" });
    assert.throws(() => checkedUrl("not a url", "the server"), { message: /is not a URL/ });
  });

  it("opens $BROWSER (with %s or the URL appended), open on macOS, xdg-open with a display, else nothing", () => {
    const url = "https://idp.example/device?user_code=ABCD";
    assert.deepEqual(browserCommand(url, { BROWSER: "firefox --new-tab" }, "linux"), [
      "firefox",
      "--new-tab",
      url,
    ]);
    assert.deepEqual(browserCommand(url, { BROWSER: "lynx:w3m" }, "linux"), ["lynx", url]);
    assert.deepEqual(browserCommand(url, { BROWSER: "chrome --app=%s" }, "linux"), [
      "chrome",
      `--app=${url}`,
    ]);
    assert.deepEqual(browserCommand(url, {}, "darwin"), ["open", url]);
    assert.deepEqual(browserCommand(url, { DISPLAY: ":0" }, "linux"), ["xdg-open", url]);
    assert.equal(browserCommand(url, {}, "linux"), undefined);
  });
});
