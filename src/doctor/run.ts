// `portcullis doctor`: every check in order — the configuration, key files,
// vault, policy, database, disk space, then (over the network, in parallel)
// the identity providers with the clock, and each target's reachability and
// host key. A configuration that does not load ends the run: nothing else
// can be checked without it.

import { type Config, type LoadedConfig, loadConfig } from "../config/index.js";
import type { Policy, Target } from "../policy/index.js";
import { ConfigError } from "../util/errors.js";
import { type CheckResult, fail, ok, skip } from "./check.js";
import { checkDatabase } from "./database.js";
import { checkDiskSpace } from "./disk.js";
import { configuredIssuers, fetchDiscovery, judgeClockSkew, judgeDiscovery } from "./idp.js";
import { fileFacts, judgeSecretFile, secretFiles } from "./key-files.js";
import { checkPolicy } from "./policy.js";
import { judgeHostKey, judgeReachability, presentedKey, tcpProblem } from "./targets.js";
import { checkMasterKeySource, checkVault } from "./vault.js";

export interface DoctorOptions {
  /** --config (else $PORTCULLIS_CONFIG, else ./portcullis.yaml). */
  readonly configFile?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Targets checked at the same time. */
const TARGET_CONCURRENCY = 16;

export async function runDoctor(options: DoctorOptions = {}): Promise<CheckResult[]> {
  const env = options.env ?? process.env;
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(options.configFile, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((problem) => fail("config", problem));
  }
  const { config } = loaded;
  const uid = process.getuid?.() ?? -1;
  const vault = checkVault(config, env);
  const policy = checkPolicy(config, vault.entries);
  const local = [
    ok("config", loaded.path),
    ...secretFiles(config).map((file) => judgeSecretFile(file, fileFacts(file.path, env), uid)),
    checkMasterKeySource(config, env, uid),
    vault.result,
    policy.result,
    checkDatabase(config),
    checkDiskSpace(config),
  ];
  const [identityProviders, targets] = await Promise.all([
    checkIdentityProviders(config),
    checkTargets(policy.policy, config.ca.clock_skew),
  ]);
  return [...local, ...identityProviders, ...targets];
}

async function checkIdentityProviders(config: Config): Promise<CheckResult[]> {
  const answers = await Promise.all(
    configuredIssuers(config).map((issuer) => fetchDiscovery(issuer)),
  );
  const reachability =
    answers.length === 0
      ? [skip("identity provider", "no oidc section: certificates only from portcullis ca sign")]
      : answers.map(judgeDiscovery);
  return [...reachability, judgeClockSkew(answers[0], config.ca.clock_skew)];
}

async function checkTargets(policy: Policy | undefined, clockSkewMs: number) {
  const targets = [...(policy?.targets.values() ?? [])];
  const results = await mapLimited(targets, TARGET_CONCURRENCY, (target) =>
    checkTarget(target, clockSkewMs),
  );
  return results.flat();
}

async function checkTarget(target: Target, clockSkewMs: number): Promise<CheckResult[]> {
  const problem = await tcpProblem(target.address);
  const reachability = judgeReachability(target, problem);
  if (problem !== undefined) return [reachability];
  return [reachability, judgeHostKey(target, await presentedKey(target), new Date(), clockSkewMs)];
}

/** `work` over `items` with at most `limit` running at once; results in the items' order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
