// Error types shared by every module. A PortcullisError is an expected
// failure with a one-line message safe to show a user (never key material);
// `exitCode` is what the CLI exits with (2 = usage or configuration error).

export class PortcullisError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = "PortcullisError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad configuration, policy or command-line usage: exit status 2. */
export class ConfigError extends PortcullisError {
  /** One line per problem, e.g. `portcullis.yaml:3:5: ssh.listen: expected host:port`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], code = "ERR_CONFIG") {
    super(code, problems.join("\n"), 2);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
