import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // PGlite runs initdb in WebAssembly when it starts, which takes seconds on a small machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
