// A session's risk score (docs/signals.md "Scoring"): the sum of its signals'
// scores, each halving every `halfLifeMs`:
//
//   score(t) = Σ sᵢ · 2^(−(t − tᵢ) / halfLife)   over the signals with tᵢ ≤ t
//
// Pure: times are numbers of ms passed in by the caller, never read here.

/** The decayed sum of one session's signal scores, and its peak. */
export class RiskScore {
  readonly #halfLifeMs: number;
  /** The sum as of `#atMs`: decaying it from there gives the sum at any later time. */
  #value = 0;
  #atMs = Number.NEGATIVE_INFINITY;
  #peak = 0;

  constructor(halfLifeMs: number) {
    if (!(halfLifeMs > 0)) throw new RangeError(`half-life must be positive, got ${halfLifeMs}`);
    this.#halfLifeMs = halfLifeMs;
  }

  /** Adds a signal's score at `atMs`; returns the sum right after it. */
  add(atMs: number, score: number): number {
    const now = Math.max(atMs, this.#atMs);
    this.#value = this.at(now) + score;
    this.#atMs = now;
    this.#peak = Math.max(this.#peak, this.#value);
    return this.#value;
  }

  /** The sum at `atMs` (a time before the last signal counts as that signal's time). */
  at(atMs: number): number {
    if (this.#value === 0 || atMs <= this.#atMs) return this.#value;
    return this.#value * 2 ** (-(atMs - this.#atMs) / this.#halfLifeMs);
  }

  /** The highest sum so far (always reached right after a signal: between signals it only decays). */
  get peak(): number {
    return this.#peak;
  }
}

/**
 * Whether a session's score first reached `threshold` with the latest signal.
 * Pass the peak from before `add` as `peakBefore`: the peak never falls, so
 * this is true at most once per session even when the score decays and rises again.
 */
export function crossed(peakBefore: number, after: number, threshold: number): boolean {
  return peakBefore < threshold && after >= threshold;
}
