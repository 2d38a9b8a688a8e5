// Opening a URL in the user's browser when there is one: `$BROWSER` (a
// command; `%s` is replaced by the URL, else the URL is appended), else
// `open` on macOS, else `xdg-open` when a display is available. Never fails:
// the URL is always printed as well, so a missing browser only means the
// user clicks or copies it.

import { spawn } from "node:child_process";

export interface BrowserEnvironment {
  readonly BROWSER?: string | undefined;
  readonly DISPLAY?: string | undefined;
  readonly WAYLAND_DISPLAY?: string | undefined;
}

/** The command line that would open `url`, or undefined when no browser is available. */
export function browserCommand(
  url: string,
  environment: BrowserEnvironment,
  platform: NodeJS.Platform,
): string[] | undefined {
  const configured = environment.BROWSER?.split(":").find((entry) => entry.trim() !== "");
  if (configured !== undefined) {
    const words = configured.trim().split(/\s+/);
    return words.some((word) => word.includes("%s"))
      ? words.map((word) => word.replaceAll("%s", url))
      : [...words, url];
  }
  if (platform === "darwin") return ["open", url];
  if (environment.DISPLAY || environment.WAYLAND_DISPLAY) return ["xdg-open", url];
  return undefined;
}

/** Starts the browser in the background; true when a command was started. */
export function openBrowser(url: string, environment: BrowserEnvironment = process.env): boolean {
  const command = browserCommand(url, environment, process.platform);
  if (command === undefined) return false;
  const [file, ...args] = command as [string, ...string[]];
  try {
    const child = spawn(file, args, { stdio: "ignore", detached: true });
    child.on("error", () => {}); // no such program: the printed URL is enough
    child.unref();
    return true;
  } catch {
    return false;
  }
}
