// The part of pino-roll 4 (which ships no types) that src/audit uses: its
// build function, called in this thread (not as a worker transport) so the
// rolling file is written synchronously.

declare module "pino-roll" {
  import type SonicBoom from "sonic-boom";

  export interface PinoRollOptions {
    file: string;
    /** A number of MB, or a string with a unit: `2048b`, `10k`, `100m`, `1g`. */
    size?: string | number;
    frequency?: "daily" | "hourly" | number;
    /** date-fns format appended to the name (`audit.2026-11-22.1.log`). */
    dateFormat?: string;
    limit?: { count: number; removeOtherLogFiles?: boolean };
    /** `current.log` beside the files, pointing at the one in use. */
    symlink?: boolean;
    sync?: boolean;
    mkdir?: boolean;
  }

  export default function build(options: PinoRollOptions): Promise<SonicBoom>;
}
