import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/main.ts", "src/app.ts"],
  format: ["esm"],
  sourcemap: true,
  clean: true,
  target: "node20",
});
