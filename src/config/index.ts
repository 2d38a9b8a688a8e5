// Public API of the config module.
export {
  configFileName,
  DEFAULT_CONFIG_FILE,
  type LoadedConfig,
  loadConfig,
  parseConfig,
} from "./load.js";
export { type Config, configSchema, LOG_LEVELS } from "./schema.js";
