// `{writes: globs, except: globs}` command patterns through the real shell
// parser and decideCommandLine: first-match-wins in a read-only allow-list,
// deny/warn rules, paths normalized, compound commands, dynamic targets
// (on_dynamic for deny/warn, never satisfying an allow), a lone `*`, and how
// the pattern is described in reasons.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decideCommandLine } from "../../src/policy/decide.js";
import { describePattern } from "../../src/policy/match.js";
import { extractCommands } from "../../src/policy/shell/index.js";
import type { RuleAction } from "../../src/policy/types.js";
import { policyFrom } from "./fixtures.js";
import { accessEntry } from "./matcher-helpers.js";

const POLICY = policyFrom(`
rulesets:
  readonly:
    default: deny
    rules:
      - deny: { writes: "*", except: ["/tmp/*", "/var/tmp/*"] }
        reason: writes only under /tmp
      - allow: [ls, cat, ps, df]
  guard:
    default: allow
    rules:
      - deny: { writes: ["/etc/*", "*/authorized_keys"] }
      - warn: { writes: /var/log/* }
  any-write:
    default: allow
    rules:
      - deny: { writes: "*" }
  tmp-writer:
    default: deny
    rules:
      - allow: { writes: /tmp/* }
`);

function decide(ruleset: string, line: string, onDynamic: RuleAction = "deny") {
  const verdict = decideCommandLine(
    POLICY,
    accessEntry([ruleset], onDynamic),
    extractCommands(line),
  );
  return `${verdict.decision} ${verdict.rule}`;
}

function table(
  ruleset: string,
  cases: readonly (readonly [string, string])[],
  onDynamic?: RuleAction,
) {
  describe(`${ruleset}${onDynamic === undefined ? "" : ` (on_dynamic: ${onDynamic})`}`, () => {
    for (const [line, expected] of cases) {
      test(JSON.stringify(line), () => assert.equal(decide(ruleset, line, onDynamic), expected));
    }
  });
}

table("readonly", [
  ["ls /etc", "allow readonly#2"],
  ["cat /etc/hosts > /etc/passwd", "deny readonly#1"],
  ["ls >> /etc/cron.d/x", "deny readonly#1"],
  ["ls > /tmp/list", "allow readonly#2"],
  ["ls > /tmp/../etc/x", "deny readonly#1"],
  ["ls > //tmp/./list", "allow readonly#2"],
  ["ls 2>/dev/null >&2", "allow readonly#2"],
  ["ls > list", "deny readonly#1"],
  ["{ df; ps; } > /etc/x", "deny readonly#1"],
  ["{ df; ps; } > /tmp/x", "allow readonly#2"],
  ["for d in /a /b; do ls $d; done 2>> /var/lib/x", "deny readonly#1"],
  ["> /etc/x", "deny readonly#1"],
  ["> /tmp/x", "deny default:readonly"],
  ["ls > $F", "deny on_dynamic"],
  ["ls > ~/x", "deny on_dynamic"],
  ["ls > /tmp/$F", "deny on_dynamic"],
  ["ls > >(cat)", "allow readonly#2"],
]);

table("readonly", [["ls > $F", "warn on_dynamic"]], "warn");

table("guard", [
  ["echo x > /etc/motd", "deny guard#1"],
  ["cat /etc/motd", "allow default:guard"],
  ["tee /etc/motd", "allow default:guard"],
  ["echo k >> /root/.ssh/authorized_keys", "deny guard#1"],
  ["echo k >> ~/.ssh/authorized_keys", "deny on_dynamic"],
  ["echo >> /var/log/app.log", "warn guard#2"],
  ["echo > /srv/x", "allow default:guard"],
  ["echo > $F", "deny on_dynamic"],
  ["sudo bash -c 'echo x' > /etc/motd", "deny guard#1"],
]);

table("any-write", [
  ["ls > $F", "deny any-write#1"],
  ["ls 2>&1", "allow default:any-write"],
]);

describe("an allow rule on writes", () => {
  table("tmp-writer", [
    ["ls > /tmp/x", "allow tmp-writer#1"],
    ["ls > $F", "deny default:tmp-writer"],
    ["ls", "deny default:tmp-writer"],
  ]);
});

test("reasons name the pattern", () => {
  const verdict = decideCommandLine(POLICY, accessEntry(["guard"]), extractCommands("ls > /etc/x"));
  assert.equal(verdict.reason, 'matches writes to "/etc/*" or "*/authorized_keys"');
  assert.equal(
    describePattern({ kind: "writes", globs: ["*"], except: ["/tmp/*", "/var/tmp/*"] }),
    'writes to "*" except "/tmp/*" or "/var/tmp/*"',
  );
});

test("a dynamic target is named in the on_dynamic reason, also when a compound writes it", () => {
  const verdict = decideCommandLine(
    POLICY,
    accessEntry(["guard"]),
    extractCommands("{ ls; } > $OUT"),
  );
  assert.equal(verdict.reason, "guard#1 depends on dynamic $OUT");
});
