import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { buildApp, logIn, signUp } from "../fixtures/app.js";
import { usePgliteDatabase } from "../fixtures/stores.js";

// Real PostgreSQL (PGlite) and real bcrypt at cost 4. The admission queue is made large enough for
// every request and the rate limits are off, so these tests see the store's and bcrypt's behaviour;
// with the defaults (one slot per core, 8 queued per slot, 20 logins a minute per address) most of
// these requests would get the documented 503 OVERLOADED and 429 RATE_LIMITED instead.
const pglite = usePgliteDatabase();

async function appOnPglite() {
  return buildApp({
    store: await pglite.freshStore(),
    rateLimit: false,
    maxConcurrentHashes: 2,
    maxQueuedHashes: 250,
  });
}

describe("concurrency on the Kysely store", () => {
  it("50 concurrent sign-ups of one name: one 201, 49 × 409, one row with a bcrypt hash", async () => {
    const { app } = await appOnPglite();
    try {
      const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => signUp(app, "racer", `password-${i}`)));
      const statuses = responses.map((response) => response.statusCode);
      expect(statuses.filter((status) => status === 201)).toHaveLength(1);
      expect(statuses.filter((status) => status === 409)).toHaveLength(49);
      const rows = await sql<{ username: string; password: string }>`select username, password from users`.execute(
        pglite.db(),
      );
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0]?.password).toMatch(/^\$2b\$04\$/);
    } finally {
      await app.close();
    }
  });

  it("200 concurrent logins of one user all succeed", async () => {
    const { app } = await appOnPglite();
    try {
      expect((await signUp(app, "popular", "correct horse")).statusCode).toBe(201);
      const responses = await Promise.all(Array.from({ length: 200 }, () => logIn(app, "popular", "correct horse")));
      expect(responses.map((response) => response.statusCode)).toEqual(Array(200).fill(200));
      expect(app.latchkey.admission).toMatchObject({ active: 0, queued: 0, rejected: 0 });
    } finally {
      await app.close();
    }
  });
});
