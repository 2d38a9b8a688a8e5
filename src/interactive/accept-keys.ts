// Where a keystroke may make the shell accept its line: `\r`, `\n` and
// `\x0f` (Ctrl-O, operate-and-get-next), except inside a bracketed paste
// (`ESC [200~` … `ESC [201~`), where readline and zle insert them as text.
// This only decides when the bastion holds the user's further input; what
// runs is decided by the gate in the shell, so a wrong guess here costs a
// short delay or a cleared line, never an unchecked command.

const ACCEPT_BYTES = new Set([0x0d, 0x0a, 0x0f]);
const PASTE_START = "\x1b[200~";
const PASTE_END = "\x1b[201~";

export class AcceptKeyFinder {
  private inPaste = false;
  /** The end of the previous chunk, when it could begin a paste bracket. */
  private carry = "";

  /** The index just after the first accept key in `chunk`, or -1; remembers paste state. */
  findAccept(chunk: Buffer): number {
    const text = this.carry + chunk.toString("latin1");
    const offset = this.carry.length;
    this.carry = "";
    let i = 0;
    while (i < text.length) {
      if (text.charCodeAt(i) === 0x1b) {
        const bracket = this.bracketAt(text, i);
        if (bracket === "partial") {
          this.carry = text.slice(i);
          return -1;
        }
        i += bracket;
        continue;
      }
      if (!this.inPaste && ACCEPT_BYTES.has(text.charCodeAt(i))) return i + 1 - offset;
      i += 1;
    }
    return -1;
  }

  /** Length of a paste bracket at `i` (updating the state), 1 otherwise, or "partial". */
  private bracketAt(text: string, i: number): number | "partial" {
    const rest = text.slice(i, i + PASTE_START.length);
    if (rest === PASTE_START || rest === PASTE_END) {
      this.inPaste = rest === PASTE_START;
      return rest.length;
    }
    const couldBe = PASTE_START.startsWith(rest) || PASTE_END.startsWith(rest);
    return couldBe && i + rest.length === text.length ? "partial" : 1;
  }
}
