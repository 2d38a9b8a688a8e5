// The person at the browser for login tests: the harness's cookie-keeping
// Browser, plus what a person does on the provider's pages, so a test can
// finish a `--browser` sign-in (up to the loopback callback of the
// running `portcullis login`) or refuse a device code.

import { Browser } from "../harness/oidc.js";

const XSRF = /name="xsrf" value="([^"]+)"/;
const SIGN_IN_ACTION = /action="(\/interaction\/[^"]+)"/;

export class TestBrowser extends Browser {
  /** Signs in on the page at `url` (an authorization request); the page the flow ends on. */
  async signIn(url: string, username: string, password: string) {
    const page = await this.visit(url);
    const action = SIGN_IN_ACTION.exec(page.body)?.[1];
    if (action === undefined)
      throw new Error(`no sign-in form at ${page.url}: ${page.body.slice(0, 200)}`);
    return this.visit(new URL(action, page.url).href, {
      prompt: "login",
      login: username,
      password,
    });
  }

  /** Enters `userCode` on the device page and presses "Abort". */
  async refuseDeviceCode(verificationUri: string, userCode: string): Promise<void> {
    const entry = await this.visit(verificationUri);
    const confirm = await this.visit(verificationUri, {
      xsrf: xsrfOf(entry.body),
      user_code: userCode,
    });
    await this.visit(verificationUri, {
      xsrf: xsrfOf(confirm.body),
      user_code: userCode,
      abort: "yes",
    });
  }
}

function xsrfOf(page: string): string {
  const xsrf = XSRF.exec(page)?.[1];
  if (xsrf === undefined)
    throw new Error(`no xsrf field on the device page: ${page.slice(0, 200)}`);
  return xsrf;
}
