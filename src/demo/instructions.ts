// What `portcullis demo` prints: the demo users with this run's passwords,
// the `portcullis login` line, the ssh line to use after it, a ready-made
// certificate for a try without signing in, and where audit and recordings
// go. The ssh line after login is built in one place: sshAfterLogin.

import type { RunningDemo } from "./demo.js";

/** How `portcullis` was started (the program and script), so the printed commands run as they are. */
export type CliInvocation = readonly string[];

const INDENT = "  ";

/** The ssh command a user runs once `portcullis login` has written their certificate and ssh config. */
export function sshAfterLogin(demo: Pick<RunningDemo, "target" | "host" | "sshPort">): string[] {
  return ["ssh", "-p", String(demo.sshPort), `${demo.target}@${demo.host}`];
}

export function loginCommand(cli: CliInvocation, demo: Pick<RunningDemo, "loginServer">): string[] {
  return [...cli, "login", "--server", demo.loginServer];
}

function usersTable(demo: RunningDemo): string[] {
  const rows = [
    ["user", "password", "group", "may"],
    ...demo.accounts.map((account) => [
      account.username,
      account.password,
      account.group,
      `${account.role}: ${account.can}`,
    ]),
  ];
  const widths = [0, 1, 2].map((column) =>
    Math.max(...rows.map((row) => row[column]?.length ?? 0)),
  );
  return rows.map(
    (row) =>
      INDENT +
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
  );
}

/** The whole banner, ending with a newline. */
export function demoBanner(demo: RunningDemo, cli: CliInvocation): string {
  const ssh = sshAfterLogin(demo).join(" ");
  const ready = demo.readyCertificate;
  return [
    `Portcullis demo is running (bastion on ${demo.host}:${demo.sshPort}, files in ${demo.dir}).`,
    `Login server: ${demo.loginServer}   Identity provider: ${demo.issuer}`,
    "",
    "Demo users (new passwords every run):",
    ...usersTable(demo),
    "",
    "1. Sign in as one of them (a browser page asks for the user and password):",
    "",
    `${INDENT}${loginCommand(cli, demo).join(" ")}`,
    "",
    "2. Connect through the bastion to the demo target:",
    "",
    `${INDENT}${ssh}`,
    "",
    `Run one command:  ${ssh} uname -a`,
    `See policy work:  ${ssh} 'rm -rf /'   (blocked)`,
    "In the shell, try `rm -r /` or `sudo true`: each line is checked when you press Enter.",
    "",
    `No sign-in: a ready-made certificate for ${ready.account.email} (group ${ready.account.group}):`,
    "",
    `${INDENT}${ready.sshCommand.join(" ")}`,
    "",
    `Recordings:       ${[...cli, "--config", demo.configPath, "recordings", "list"].join(" ")}`,
    `Web viewer:       ${demo.loginServer}/sessions   (audrey sees every session; the others their own)`,
    `Audit log:        ${demo.auditFile}`,
    "Press Ctrl-C to stop; the directory is removed.",
    "",
  ].join("\n");
}
