// One line typed at a terminal the bastion answers itself (the target menu,
// an approval's reason prompt, the approver console): typed characters are
// echoed, Backspace removes the last character (a whole UTF-8 character),
// Enter ends the line, Ctrl-C or Ctrl-D gives up. Other control bytes are
// ignored.

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const BACKSPACE = new Set([0x08, 0x7f]);
const ENTER = new Set([0x0d, 0x0a]);

export type LineEvent =
  | { readonly kind: "line"; readonly text: string; readonly rest: Buffer }
  | { readonly kind: "cancel"; readonly rest: Buffer };

export interface LineInputOptions {
  /** Longest line in bytes; more is ignored. */
  readonly maxBytes: number;
  /** Which characters may be typed (default: any printable). */
  readonly accepts?: (byte: number) => boolean;
}

export class LineInput {
  private bytes: number[] = [];

  constructor(
    private readonly echo: (text: Buffer | string) => void,
    private readonly options: LineInputOptions,
  ) {}

  /** Feeds typed bytes; the event that ended the line, if one did, with the bytes typed after it. */
  feed(data: Buffer): LineEvent | undefined {
    for (const [index, byte] of data.entries()) {
      const rest = data.subarray(index + 1);
      if (byte === CTRL_C || byte === CTRL_D) return { kind: "cancel", rest };
      if (ENTER.has(byte)) return { kind: "line", text: this.take(), rest };
      if (BACKSPACE.has(byte)) this.eraseCharacter();
      else this.type(byte);
    }
    return undefined;
  }

  private type(byte: number): void {
    const accepted = this.options.accepts?.(byte) ?? byte >= 0x20;
    if (!accepted || this.bytes.length >= this.options.maxBytes) return;
    this.bytes.push(byte);
    this.echo(Buffer.of(byte));
  }

  private eraseCharacter(): void {
    if (this.bytes.length === 0) return;
    while (((this.bytes.pop() ?? 0) & 0xc0) === 0x80 && this.bytes.length > 0);
    this.echo("\b \b");
  }

  private take(): string {
    const text = Buffer.from(this.bytes).toString("utf8");
    this.bytes = [];
    return text;
  }
}
