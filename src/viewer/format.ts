// How times, durations and risk read on the viewer's pages: UTC times to the
// second, durations in the two largest units, offsets into a session as
// m:ss.s, signal scores as whole numbers with a level against the alert
// threshold. Pure.

export function utcTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const units: [number, string][] = [
    [Math.floor(seconds / 86_400), "d"],
    [Math.floor(seconds / 3600) % 24, "h"],
    [Math.floor(seconds / 60) % 60, "m"],
    [seconds % 60, "s"],
  ];
  const first = units.findIndex(([value]) => value > 0);
  if (first === -1) return "0s";
  return units
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join(" ");
}

export function sessionDuration(startedAt: Date, endedAt: Date | undefined): string {
  return endedAt === undefined ? "running" : duration(endedAt.getTime() - startedAt.getTime());
}

/** `m:ss.s` into a session or recording. */
export function offset(ms: number): string {
  const tenths = Math.max(0, Math.round(ms / 100));
  const minutes = Math.floor(tenths / 600);
  const seconds = ((tenths % 600) / 10).toFixed(1).padStart(4, "0");
  return `${minutes}:${seconds}`;
}

export function risk(value: number | undefined): string {
  return value === undefined || value === 0 ? "–" : value.toFixed(value < 10 ? 1 : 0);
}

/** A signal or session risk score: a whole number, "–" for none. */
export function score(value: number): string {
  return value > 0 ? String(Math.round(value)) : "–";
}

/** `high` from the alert threshold, `raised` from half of it, else `low` (`none` at 0). */
export type RiskLevel = "none" | "low" | "raised" | "high";

export function riskLevel(value: number, threshold: number): RiskLevel {
  if (value <= 0) return "none";
  if (value >= threshold) return "high";
  return value >= threshold / 2 ? "raised" : "low";
}
