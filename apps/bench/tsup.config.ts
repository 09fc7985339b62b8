import { defineConfig } from "tsup";

export default defineConfig({
  // The orchestrator and the four programs it runs as separate processes.
  entry: [
    "src/main.ts",
    "src/bench-server.ts",
    "src/load-worker.ts",
    "src/bcrypt-ceiling.ts",
    "src/token-algorithms.ts",
  ],
  format: ["esm"],
  sourcemap: true,
  clean: true,
  target: "node20",
});
