// The physical ceiling: raw bcrypt throughput in a process of its own, with the thread pool the
// server gets (UV_THREADPOOL_SIZE is inherited). Run by `main.ts` with a JSON `CeilingSpec`;
// prints `RESULT <json>`. Operations completed in a window after a warm-up, so neither the start
// nor the stop of the loop is counted.
import bcrypt from "bcrypt";
import type { CeilingResult, CeilingSpec } from "./ceiling-spec.js";
import { machineCpuSeconds } from "./cpu.js";

const spec = JSON.parse(process.argv[2] ?? "{}") as CeilingSpec;
const password = "bench-password-1";
const hash = await bcrypt.hash(password, spec.cost);
const operation =
  spec.operation === "compare" ? () => bcrypt.compare(password, hash) : () => bcrypt.hash(password, spec.cost);

let counting = false;
let running = true;
let completed = 0;

async function loop(): Promise<void> {
  while (running) {
    await operation();
    if (counting) completed += 1;
  }
}

// `concurrency` operations always in flight, like as many requests waiting on the server.
const loops = Array.from({ length: spec.concurrency }, loop);
await new Promise((resolve) => setTimeout(resolve, spec.warmupSeconds * 1000));
counting = true;
const startCpu = process.cpuUsage();
const startMachine = machineCpuSeconds();
const started = process.hrtime.bigint();
await new Promise((resolve) => setTimeout(resolve, spec.windowSeconds * 1000));
counting = false;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(startCpu);
const machineBusy = machineCpuSeconds().busy - startMachine.busy;
running = false;
await Promise.all(loops);

const result: CeilingResult = {
  ...spec,
  threadPoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
  completed,
  seconds,
  perSecond: completed / seconds,
  cpuCores: (cpu.user + cpu.system) / 1e6 / seconds,
  otherCores: Math.max(0, machineBusy - (cpu.user + cpu.system) / 1e6) / seconds,
};
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
