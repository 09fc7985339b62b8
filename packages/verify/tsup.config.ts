import { defineConfig } from "tsup";

export default defineConfig({
  // Two entries: the main one never loads Fastify, so services on other frameworks need not install it.
  entry: { index: "src/index.ts", "fastify/index": "src/fastify/index.ts" },
  format: ["esm", "cjs"],
  // One copy of the shared code in CommonJS too (tsup splits only ESM by default): otherwise the two
  // entries would each have their own error classes, and `instanceof` across them would fail.
  splitting: true,
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
