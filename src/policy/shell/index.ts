// Public API of the shell extractor: a bash command line → every simple
// command bash would run (see docs/shell-parsing.md).
export { extractCommands } from "./extract.js";
