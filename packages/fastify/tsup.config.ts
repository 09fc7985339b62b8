import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm", "cjs"],
  dts: {
    // The bundled declarations augment @fastify/jwt's `FastifyJWT` (typing `request.user`), but name
    // nothing of it, so the bundler would drop every link to it. This line makes a consumer that
    // imports only @latchkey/fastify load @fastify/jwt's declarations: `app.jwt`, `request.user`.
    banner: '/// <reference types="@fastify/jwt" />',
  },
  sourcemap: true,
  clean: true,
  target: "node20",
});
