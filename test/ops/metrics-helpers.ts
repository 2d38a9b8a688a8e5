// Shared by the metrics tests: a bastion config with the operations listener,
// its URL from `serve`'s stderr, and a scrape of /metrics read as a map of
// series (`name{label="value"}`) to values.

import type { TestBastion } from "../harness/bastion.js";

/** A `configEdit` that turns the operations listener on, on a free loopback port. */
export function withMetrics(yaml: string): string {
  return `${yaml}metrics:\n  listen: "127.0.0.1:0"\n`;
}

/** `http://127.0.0.1:PORT` of the operations listener, as `serve` reported it. */
export function opsUrl(bastion: TestBastion): string {
  const url = /metrics listening on (\S+)/.exec(bastion.serverStderr())?.[1];
  if (url === undefined) throw new Error(`no metrics listener in:\n${bastion.serverStderr()}`);
  return url;
}

export interface Scrape {
  readonly text: string;
  /** The series' value; 0 when absent (a labelled counter not yet incremented). */
  value(series: string): number;
}

export async function scrape(baseUrl: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { text, value: (series) => values.get(series) ?? 0 };
}

/** Status and body of a GET. */
export async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}
