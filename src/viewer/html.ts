// Server-rendered HTML with escaping by construction: the `html` tagged
// template escapes every interpolated value unless it is already SafeHtml
// (another `html` result, or `trustedHtml` for a constant). Arrays are joined,
// `undefined`, `null` and `false` render nothing.

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export class SafeHtml {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? "";
  for (const [index, value] of values.entries()) out += render(value) + (strings[index + 1] ?? "");
  return new SafeHtml(out);
}

/** Marks a constant (never user data) as HTML. */
export function trustedHtml(text: string): SafeHtml {
  return new SafeHtml(text);
}
