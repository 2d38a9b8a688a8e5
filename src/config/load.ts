// Finding and loading portcullis.yaml: `--config FILE`, else
// $PORTCULLIS_CONFIG, else ./portcullis.yaml. Problems are reported as
// `FILE:LINE:COL: key.path: message`, FILE as the user named it.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError, errorMessage } from "../util/errors.js";
import { parseAndValidate } from "../util/yaml-source.js";
import { withSystemdCredentials } from "./credentials.js";
import { type Config, configSchema } from "./schema.js";

export const DEFAULT_CONFIG_FILE = "portcullis.yaml";

export interface LoadedConfig {
  /** Absolute path of the config file. */
  readonly path: string;
  /** Its directory, against which relative paths were resolved. */
  readonly dir: string;
  readonly config: Config;
}

/** Which file to load: `explicitPath` (from --config), else $PORTCULLIS_CONFIG, else ./portcullis.yaml. */
export function configFileName(
  explicitPath?: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (explicitPath !== undefined && explicitPath !== "") return explicitPath;
  const fromEnv = env.PORTCULLIS_CONFIG;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : DEFAULT_CONFIG_FILE;
}

export function loadConfig(
  explicitPath?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): LoadedConfig {
  const file = configFileName(explicitPath, env);
  const path = resolve(cwd, file);
  const dir = dirname(path);
  const config = parseConfig(readConfigText(file, path), file, dir);
  return { path, dir, config: withSystemdCredentials(config, env) };
}

/** Validates config text; `file` names it in problems, relative paths resolve against `dir`. */
export function parseConfig(text: string, file: string, dir: string): Config {
  const parsed = parseAndValidate(file, text, configSchema(dir));
  if (!parsed.ok) throw new ConfigError(parsed.problems.map((problem) => problem.text));
  return parsed.value.data;
}

function readConfigText(file: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ConfigError([
        `config file not found: ${file} (use --config FILE or $PORTCULLIS_CONFIG)`,
      ]);
    }
    throw new ConfigError([`cannot read config file ${file}: ${errorMessage(error)}`]);
  }
}
