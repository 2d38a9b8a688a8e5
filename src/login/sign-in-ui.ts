// What the person at the terminal sees while signing in: the URL and code
// (device flow) or the URL (browser flow), a browser opened when one is
// available, and a spinner with the time left while login waits.

import { formatDuration } from "./clock.js";
import { openBrowser } from "./open-browser.js";
import { startSpinner } from "./spinner.js";

export interface DeviceCodePrompt {
  readonly verificationUri: string;
  /** The URI with the code filled in, when the provider gives one. */
  readonly verificationUriComplete?: string;
  readonly userCode: string;
}

export interface SignInUi {
  showDeviceCode(prompt: DeviceCodePrompt): void;
  showBrowserUrl(url: string): void;
  /** Shows that login is waiting (until `deadline`); the returned function stops it. */
  waiting(what: string, deadline: Date): () => void;
}

export function terminalUi(
  stream: NodeJS.WriteStream,
  now: () => Date,
  open: (url: string) => boolean = openBrowser,
): SignInUi {
  return {
    showDeviceCode: (prompt) => {
      stream.write(
        `To sign in, open ${prompt.verificationUri}\nand enter the code: ${prompt.userCode}\n`,
      );
      if (open(prompt.verificationUriComplete ?? prompt.verificationUri)) {
        stream.write("(opened in your browser)\n");
      }
    },
    showBrowserUrl: (url) => {
      stream.write(`To sign in, open this URL in a browser on this machine:\n${url}\n`);
      if (open(url)) stream.write("(opened in your browser)\n");
    },
    waiting: (what, deadline) => {
      const spinner = startSpinner(stream, () => {
        const left = formatDuration(deadline.getTime() - now().getTime());
        return `${what} (${left} left)`;
      });
      return () => spinner.stop();
    },
  };
}
