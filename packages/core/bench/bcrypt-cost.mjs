// Measures what a bcrypt hash and a verification cost on this machine, per cost, through
// @latchkey/core's hasher (the built package). Run: pnpm --filter @latchkey/core bench
import { availableParallelism } from "node:os";
import { createBcryptHasher } from "../dist/index.js";

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const threadPool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
const costs = (process.env.COSTS ?? "10,11,12,13").split(",").map(Number);

async function timeEach(count, run) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) await run();
  return Number(process.hrtime.bigint() - started) / 1e6 / count;
}

async function throughput(count, run) {
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: count }, run));
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

console.log(`node ${process.version}, ${availableParallelism()} cores, UV_THREADPOOL_SIZE=${threadPool}`);
console.log("cost | hash ms (one at a time) | verify ms (one at a time) | verify/s (parallel)");
for (const cost of costs) {
  const hasher = createBcryptHasher({ cost });
  const hash = await hasher.hash("johnspassword");
  const hashMs = await timeEach(ROUNDS, () => hasher.hash("johnspassword"));
  const verifyMs = await timeEach(ROUNDS, () => hasher.verify("johnspassword", hash));
  const perSecond = await throughput(ROUNDS * 2, () => hasher.verify("johnspassword", hash));
  console.log(
    `${String(cost).padStart(4)} | ${hashMs.toFixed(1).padStart(23)} | ${verifyMs.toFixed(1).padStart(25)} | ${perSecond.toFixed(2).padStart(19)}`,
  );
}
