// The bastion's side of the integration protocol, on byte streams: marker
// scanning across reads, accept keys around bracketed paste, and putting
// multi-line commands together as bash would run them.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AcceptKeyFinder } from "../../src/interactive/accept-keys.js";
import { assembleLine } from "../../src/interactive/assemble.js";
import { MarkerScanner, type OutputPiece } from "../../src/interactive/markers.js";

const NONCE = "0123456789abcdef0123456789abcdef";
const marker = (body: string, nonce = NONCE) => `\x1b]6973;${nonce};${body}\x07`;

function scanAll(scanner: MarkerScanner, chunks: readonly string[]): OutputPiece[] {
  const pieces = chunks.flatMap((chunk) => scanner.scan(Buffer.from(chunk)));
  const rest = scanner.flush();
  return rest ? [...pieces, { data: rest }] : pieces;
}

function describePieces(pieces: readonly OutputPiece[]): string[] {
  return pieces.map((piece) =>
    "data" in piece ? `data:${piece.data.toString()}` : `marker:${JSON.stringify(piece.marker)}`,
  );
}

describe("MarkerScanner", () => {
  it("strips markers and keeps the output around them in order", () => {
    const stream = `before${marker("P;0;'/home/a b'")}$ ${marker("G;00112233445566aa;'ls -l'")}after`;
    assert.deepEqual(describePieces(scanAll(new MarkerScanner(NONCE), [stream])), [
      "data:before",
      `marker:${JSON.stringify({ kind: "prompt", status: 0, cwd: "/home/a b" })}`,
      "data:$ ",
      `marker:${JSON.stringify({ kind: "gate", challenge: "00112233445566aa", line: "ls -l" })}`,
      "data:after",
    ]);
  });

  it("finds a marker split at every possible byte across two reads", () => {
    const stream = `ab${marker("G;00112233445566aa;$'a\\nb;c'")}cd`;
    for (let cut = 1; cut < stream.length; cut++) {
      const pieces = scanAll(new MarkerScanner(NONCE), [stream.slice(0, cut), stream.slice(cut)]);
      const text = pieces.map((p) => ("data" in p ? p.data.toString() : "|")).join("");
      assert.equal(text, "ab|cd", `cut at ${cut}`);
      const gate = pieces.find((p) => "marker" in p);
      assert.deepEqual(gate && "marker" in gate ? gate.marker : undefined, {
        kind: "gate",
        challenge: "00112233445566aa",
        line: "a\nb;c",
      });
    }
  });

  it("decodes the quoting bash and zsh use, including quotes inside quotes", () => {
    const cases: Array<[string, string]> = [
      ["'it'\\''s'", "it's"],
      ["$'tab\\there\\E[0m'", "tab\there\x1b[0m"],
      ["plain", "plain"],
      ["''", ""],
      ["a\\ b", "a b"],
      ["$'\\302\\234x\\xc3\\xa9 é'", "\u009cxé é"],
      ["$'\\\\101'", "\\101"],
    ];
    for (const [quoted, expected] of cases) {
      const [piece] = scanAll(new MarkerScanner(NONCE), [marker(`G;00112233445566aa;${quoted}`)]);
      assert.deepEqual(piece && "marker" in piece ? piece.marker : undefined, {
        kind: "gate",
        challenge: "00112233445566aa",
        line: expected,
      });
    }
  });

  it("reports markers with another nonce or a bad challenge as foreign, never as gates", () => {
    const pieces = scanAll(new MarkerScanner(NONCE), [
      marker("G;00112233445566aa;'rm -rf /'", "f".repeat(32)),
      marker("G;not-hex;'ls'"),
      marker("Q;whatever"),
    ]);
    assert.deepEqual(
      pieces.map((p) => ("marker" in p ? p.marker.kind : "data")),
      ["foreign", "foreign", "foreign"],
    );
  });

  it("passes other escape sequences and a lone trailing ESC through", () => {
    const pieces = scanAll(new MarkerScanner(NONCE), ["\x1b]0;title\x07\x1b[1mbold\x1b"]);
    assert.equal(
      pieces.map((p) => ("data" in p ? p.data.toString() : "?")).join(""),
      "\x1b]0;title\x07\x1b[1mbold\x1b",
    );
  });
});

describe("AcceptKeyFinder", () => {
  it("finds Enter, Ctrl-J and Ctrl-O", () => {
    for (const key of ["\r", "\n", "\x0f"]) {
      assert.equal(new AcceptKeyFinder().findAccept(Buffer.from(`ls${key}pwd`)), 3);
    }
    assert.equal(new AcceptKeyFinder().findAccept(Buffer.from("ls -l")), -1);
  });

  it("ignores line breaks inside a bracketed paste, also when the brackets are split", () => {
    const finder = new AcceptKeyFinder();
    assert.equal(finder.findAccept(Buffer.from("\x1b[20")), -1);
    assert.equal(finder.findAccept(Buffer.from("0~touch a\rtouch b\r\x1b[2")), -1);
    assert.equal(finder.findAccept(Buffer.from("01~")), -1);
    assert.equal(finder.findAccept(Buffer.from("\r")), 1);
  });

  it("treats ESC then Enter (vi command mode) as an accept", () => {
    const finder = new AcceptKeyFinder();
    assert.equal(finder.findAccept(Buffer.from("\x1b")), -1);
    assert.equal(finder.findAccept(Buffer.from("\r")), 1);
  });
});

describe("assembleLine", () => {
  it("decides a complete line at once", () => {
    assert.deepEqual(assembleLine("", "ls -l"), { kind: "decide", text: "ls -l", pending: "" });
  });

  it("waits for the rest of an open quote, a continuation, a heredoc and if … fi", () => {
    const sequences: string[][] = [
      ['echo "a', 'b"'],
      ["rm -rf \\", "/"],
      ["cat <<EOF", "body", "EOF"],
      ["if true; then", "rm x", "fi"],
    ];
    for (const lines of sequences) {
      let pending = "";
      for (const line of lines.slice(0, -1)) {
        const step = assembleLine(pending, line);
        assert.equal(step.kind, "continue", lines.join(" / "));
        pending = step.pending;
      }
      assert.deepEqual(assembleLine(pending, lines.at(-1) ?? ""), {
        kind: "decide",
        text: lines.join("\n"),
        pending: "",
      });
    }
  });

  it("decides the complete commands before an incomplete one, as bash runs them", () => {
    assert.deepEqual(assembleLine("", 'touch a\ntouch b\necho "open'), {
      kind: "decide",
      text: "touch a\ntouch b",
      pending: 'echo "open',
    });
  });
});
