// Signing and verifying cost per access-token algorithm, in a process of its own with nothing else
// in it. Run by `main.ts` with a JSON `TokenAlgorithmsSpec`; prints `RESULT <json>`.
// Each algorithm gets a keyring of its own (in memory, as the server's on its database) and the
// token service the server uses, with the verified-token cache off. A round signs `tokens` distinct
// tokens (claims shaped like the server's: sub, uid, sid) and then verifies those same tokens, for
// every algorithm; the order of the algorithms rotates from round to round so that noise on the
// machine falls on all of them alike. One untimed round first warms up the code and the keys.
import { randomBytes, randomUUID } from "node:crypto";
import {
  type AccessTokenClaims,
  type AccessTokenData,
  createKeyEncryption,
  createKeyring,
  createMemoryKeyStore,
  createTokenService,
  type Keyring,
  type TokenService,
} from "@latchkey/core";
import { machineCpuSeconds } from "./cpu.js";
import {
  type AlgorithmCost,
  TOKEN_ALGORITHMS,
  type TokenAlgorithm,
  type TokenAlgorithmsResult,
  type TokenAlgorithmsSpec,
} from "./token-algorithms-spec.js";

const spec = JSON.parse(process.argv[2] ?? "{}") as TokenAlgorithmsSpec;
if (!(spec.tokens >= 1 && spec.rounds >= 1))
  throw new Error(`tokens and rounds must be at least 1: ${process.argv[2]}`);
const secret = randomBytes(32).toString("base64url");

async function serviceFor(algorithm: TokenAlgorithm) {
  const keyring = createKeyring({
    store: createMemoryKeyStore(),
    encryption: createKeyEncryption(Buffer.alloc(32, 1)),
    secret,
    // Rotation only ever adds asymmetric keys; HS256 is the HMAC secret kept as the first, active key.
    algorithm: algorithm === "HS256" ? "RS256" : algorithm,
    initialAlgorithm: algorithm,
    tokenLifetimeSeconds: 1800,
  });
  await keyring.start();
  const service = createTokenService({ secret, keys: keyring, verifiedTokenCacheSize: 0 });
  return { keyring, service };
}

const services = new Map<TokenAlgorithm, TokenService>();
const keyrings: Keyring[] = [];
for (const algorithm of TOKEN_ALGORITHMS) {
  const { keyring, service } = await serviceFor(algorithm);
  services.set(algorithm, service);
  keyrings.push(keyring);
}

let serial = 0;
/** `count` users' claims never used before, as `/token` puts them in a token. */
function distinctClaims(count: number) {
  return Array.from({ length: count }, () => {
    serial += 1;
    return { sub: `bench-user-${serial}`, uid: randomUUID(), sid: randomUUID() };
  });
}

const headerAlg = (token: string) =>
  (JSON.parse(Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString()) as { alg: string }).alg;

/** Signs then verifies `spec.tokens` distinct tokens; µs per token for each, plus a sample token. */
async function pass(service: TokenService) {
  const claims = distinctClaims(spec.tokens);
  const tokens: string[] = new Array(spec.tokens);
  const verified: AccessTokenClaims[] = new Array(spec.tokens);
  const signStart = performance.now();
  for (let i = 0; i < claims.length; i += 1) tokens[i] = await service.createAccessToken(claims[i] as AccessTokenData);
  const signEnd = performance.now();
  for (let i = 0; i < tokens.length; i += 1) verified[i] = service.verifyAccessTokenSync(tokens[i] as string);
  const verifyEnd = performance.now();
  for (let i = 0; i < claims.length; i += 1) {
    if (verified[i]?.sub !== claims[i]?.sub) throw new Error(`token ${i} verified as someone else`);
  }
  return {
    signUs: ((signEnd - signStart) * 1000) / spec.tokens,
    verifyUs: ((verifyEnd - signEnd) * 1000) / spec.tokens,
    sample: tokens[0] as string,
  };
}

/** The algorithms in round `round`'s order: the list rotated by one more place each round. */
const orderOf = (round: number) =>
  TOKEN_ALGORITHMS.map((_, i) => TOKEN_ALGORITHMS[(i + round) % TOKEN_ALGORITHMS.length] as TokenAlgorithm);

const rounds = new Map<TokenAlgorithm, { sign: number[]; verify: number[]; sample: string }>(
  TOKEN_ALGORITHMS.map((algorithm) => [algorithm, { sign: [], verify: [], sample: "" }]),
);
// The warm-up round: the same work, not recorded.
for (const algorithm of orderOf(0)) await pass(services.get(algorithm) as TokenService);

const startCpu = process.cpuUsage();
const startMachine = machineCpuSeconds();
const started = performance.now();
for (let round = 0; round < spec.rounds; round += 1) {
  for (const algorithm of orderOf(round)) {
    const measured = await pass(services.get(algorithm) as TokenService);
    const record = rounds.get(algorithm);
    record?.sign.push(measured.signUs);
    record?.verify.push(measured.verifyUs);
    if (record) record.sample = measured.sample;
  }
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(startCpu);
const machineBusy = machineCpuSeconds().busy - startMachine.busy;
for (const keyring of keyrings) await keyring.close();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
const baseline = rounds.get("HS256") as { sign: number[]; verify: number[] };
const algorithms: AlgorithmCost[] = TOKEN_ALGORITHMS.map((algorithm) => {
  const record = rounds.get(algorithm) as { sign: number[]; verify: number[]; sample: string };
  const signUs = median(record.sign);
  const verifyUs = median(record.verify);
  return {
    algorithm,
    signedWith: headerAlg(record.sample),
    tokenBytes: Buffer.byteLength(record.sample),
    signRoundsUs: record.sign,
    verifyRoundsUs: record.verify,
    signUs,
    verifyUs,
    signRatio: signUs / median(baseline.sign),
    verifyRatio: verifyUs / median(baseline.verify),
  };
});
const wrong = algorithms.filter((a) => a.signedWith !== a.algorithm);
if (wrong.length > 0) {
  throw new Error(`tokens signed with another algorithm: ${wrong.map((a) => `${a.algorithm} → ${a.signedWith}`)}`);
}

const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const result: TokenAlgorithmsResult = {
  ...spec,
  statistic: "median",
  algorithms,
  seconds,
  cpuCores: cpuSeconds / seconds,
  otherCores: Math.max(0, machineBusy - cpuSeconds) / seconds,
};
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
