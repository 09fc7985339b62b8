#!/usr/bin/env node
// A committed launcher, so that package managers can link the `latchkey-server` bin at install
// time, before `dist/` is built (pnpm warned "Failed to create bin" while it pointed into dist/).
try {
  await import("../dist/main.js");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/main.js")) {
    console.error("latchkey-server is not built yet: run `pnpm build` (or `npx pnpm@10.34.9 start`) first");
    process.exit(1);
  }
  throw error;
}
