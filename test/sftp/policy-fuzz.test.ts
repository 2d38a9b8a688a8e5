// Properties of the file transfer policy over generated paths (`..`, `.`,
// `//`, relative and absolute): resolution is absolute, normalized and
// idempotent; nothing a deny rule matches is ever opened or changed; with an
// allow rule, nothing outside it is; and a refused path stays refused
// however it is spelled.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { compileFilePolicy, type FileAccess, resolvePath } from "../../src/policy/files.js";
import { policyFrom, targetYaml } from "../policy/fixtures.js";

const HOME = "/home/u";
const SEGMENTS = ["..", ".", "", "etc", "shadow", "srv", "share", "home", "u", "x.txt", "secret"];

const pathArbitrary = fc
  .tuple(fc.boolean(), fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 8 }))
  .map(([absolute, segments]) => `${absolute ? "/" : ""}${segments.join("/")}`);

const policy = compileFilePolicy(
  (() => {
    const entry = policyFrom(`targets:
${targetYaml("web1")}
access:
  - name: files
    subjects: { groups: [ops] }
    targets: { names: [web1] }
    file_transfer: allow
    files: [ { allow: "/srv/share/**" }, { allow: "~/**" }, { deny: "**/secret" } ]
`).access[0];
    assert.ok(entry);
    return entry;
  })(),
  HOME,
);

const CONTENT_ACCESS: readonly FileAccess[] = ["read", "write", "readwrite", "modify"];

test("resolved paths are absolute, without . or .. or empty segments, and stable", () => {
  fc.assert(
    fc.property(pathArbitrary, (path) => {
      const resolved = resolvePath(path, HOME);
      assert.ok(resolved.startsWith("/"));
      assert.doesNotMatch(resolved, /(^|\/)\.\.?(\/|$)|\/\/|.\/$/);
      assert.equal(resolvePath(resolved, HOME), resolved);
      assert.equal(resolvePath(resolved, "/elsewhere"), resolved);
    }),
  );
});

test("contents are reachable only inside an allow rule and outside every deny rule", () => {
  fc.assert(
    fc.property(pathArbitrary, fc.constantFrom(...CONTENT_ACCESS), (path, access) => {
      const resolved = policy.resolve(path);
      const inside = resolved.startsWith("/srv/share/") || resolved.startsWith(`${HOME}/`);
      const denied = resolved.endsWith("/secret");
      const verdict = policy.decide(access, resolved);
      assert.equal(verdict.decision === "allow", inside && !denied, resolved);
    }),
  );
});

test("a path is decided the same however it is spelled", () => {
  fc.assert(
    fc.property(pathArbitrary, fc.constantFrom(...CONTENT_ACCESS), (path, access) => {
      const resolved = policy.resolve(path);
      const detour = `${resolved}/../${resolved.split("/").at(-1) ?? ""}`;
      const spelled = policy.decide(access, policy.resolve(`/./${detour}//`));
      assert.equal(spelled.decision, policy.decide(access, resolved).decision);
    }),
  );
});
