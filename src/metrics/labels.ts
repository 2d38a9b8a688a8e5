// Label values for the metrics: each label takes a small set of values, so
// that nothing from an audit event (a user, a session id, a command line,
// an error message) can ever become a label. Values outside the set count
// as `other`.

export const OTHER = "other";

/** `value` when it is one of `allowed`, else `other`. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | typeof OTHER {
  return allowed.includes(value as T) ? (value as T) : OTHER;
}

/** Code-shaped identifiers such as `untrusted_ca`: never free text. */
const CODE = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * An open set of reason codes (auth failures come from several modules):
 * code-shaped values are kept, up to `limit` distinct ones per server;
 * anything else is `other`.
 */
export class CodeLabel {
  readonly #seen = new Set<string>();

  constructor(private readonly limit = 50) {}

  value(code: unknown): string {
    if (typeof code !== "string" || !CODE.test(code)) return OTHER;
    if (this.#seen.has(code)) return code;
    if (this.#seen.size >= this.limit) return OTHER;
    this.#seen.add(code);
    return code;
  }
}
