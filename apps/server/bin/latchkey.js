#!/usr/bin/env node
// A committed launcher for the admin command (see bin/latchkey-server.js for why it is not in dist/).
try {
  await import("../dist/cli.js");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli.js")) {
    console.error("latchkey is not built yet: run `pnpm build` first");
    process.exit(1);
  }
  throw error;
}
