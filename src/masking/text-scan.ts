// One text as the built-in detectors see it during one findSecrets call: the
// text, one lower-case copy shared by all of them, and the positions of
// literals in either, found with native indexOf and kept, so that a detector
// keyed on a name runs its regex only where the name occurs instead of
// trying it at every character.

export class TextScan {
  private lowerCopy: string | null | undefined;
  private readonly found = new Map<string, readonly number[]>();

  constructor(readonly text: string) {}

  /**
   * The text lower-cased with the same offsets, or null when lower-casing
   * changes the length (`İ` becomes two characters): then keyed detectors
   * scan the whole text instead.
   */
  get lower(): string | null {
    if (this.lowerCopy === undefined) {
      const lower = this.text.toLowerCase();
      this.lowerCopy = lower.length === this.text.length ? lower : null;
    }
    return this.lowerCopy;
  }

  /** The lower-case copy for a caseless search (a lower-case literal), else the text. */
  searched(caseless: boolean): string {
    return caseless ? (this.lower ?? this.text) : this.text;
  }

  /**
   * Every position of `literal` in the text, ascending; with `caseless` (a
   * lower-case `literal`), in the lower-case copy: in any case in the text
   * (every ASCII letter a case-insensitive regex matches is there, plus a few
   * look-alikes such as the Kelvin sign, which the regex then rejects).
   */
  positions(literal: string, caseless: boolean): readonly number[] {
    const key = caseless ? literal : `=${literal}`;
    let positions = this.found.get(key);
    if (positions === undefined) {
      positions = allIndexes(this.searched(caseless), literal);
      this.found.set(key, positions);
    }
    return positions;
  }
}

function allIndexes(text: string, literal: string): number[] {
  const indexes: number[] = [];
  for (let at = text.indexOf(literal); at !== -1; at = text.indexOf(literal, at + 1))
    indexes.push(at);
  return indexes;
}
