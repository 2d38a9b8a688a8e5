// Drives a real program (usually OpenSSH `ssh`) through a pseudo-terminal the
// way a person would: type, wait for text to appear, resize, read the exit.
// Waits on output, never on fixed sleeps.

import pty from "node-pty";

/** The end of a drawn shell prompt: `# ` (or `$ `, `% `), then only terminal mode escapes. */
export const PROMPT_END = new RegExp(`[#$%>] (?:${"\x1b"}(?:\\[[0-9;?]*[a-zA-Z]|[=>]))*$`);

export interface PtyExit {
  exitCode: number;
  signal?: number;
}

export class PtyDriver {
  output = "";
  private readonly process: pty.IPty;
  private readonly exited: Promise<PtyExit>;
  private readonly waiters = new Set<() => void>();

  constructor(
    file: string,
    args: string[],
    options: { cols?: number; rows?: number; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.process = pty.spawn(file, args, {
      name: "xterm-256color",
      cols: options.cols ?? 80,
      rows: options.rows ?? 24,
      env: { ...process.env, ...options.env } as Record<string, string>,
    });
    this.process.onData((data) => {
      this.output += data;
      for (const wake of this.waiters) wake();
    });
    this.exited = new Promise((resolve) => {
      this.process.onExit(({ exitCode, signal }) => {
        resolve(signal ? { exitCode, signal } : { exitCode });
        for (const wake of this.waiters) wake();
      });
    });
  }

  type(text: string): void {
    this.process.write(text);
  }

  resize(cols: number, rows: number): void {
    this.process.resize(cols, rows);
  }

  /** Waits until `pattern` appears in the output after `from` (default: anywhere). */
  async expect(pattern: RegExp | string, timeoutMs = 15_000, from = 0): Promise<string> {
    const matches = () => {
      const text = this.output.slice(from);
      return typeof pattern === "string" ? text.includes(pattern) : pattern.test(text);
    };
    if (matches()) return this.output;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(
          new Error(
            `timed out waiting for ${String(pattern)}; output so far:\n${this.output.slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      const wake = () => {
        if (!matches()) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
    return this.output;
  }

  async exit(timeoutMs = 15_000): Promise<PtyExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`process did not exit; output:\n${this.output.slice(-2000)}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    try {
      this.process.kill();
    } catch {
      // already gone
    }
  }
}
