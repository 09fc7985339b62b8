import { defineConfig } from "tsup";

export default defineConfig({
  // `main` is the server, `cli` the admin command; `index` and `testing/index` are imported by the benchmark suite.
  entry: { main: "src/main.ts", cli: "src/cli.ts", index: "src/index.ts", "testing/index": "src/testing/index.ts" },
  format: ["esm"],
  dts: { entry: { index: "src/index.ts", "testing/index": "src/testing/index.ts" } },
  sourcemap: true,
  clean: true,
  target: "node20",
});
