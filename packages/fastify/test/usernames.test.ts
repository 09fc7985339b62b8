import { createMemoryUserStore, type UserStore } from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp, expectStatus, getMe, logIn, signUp } from "./fixtures/app.js";
import { usePgliteDatabase } from "./fixtures/stores.js";

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const pglite = usePgliteDatabase();
const stores: [string, () => Promise<UserStore>][] = [
  ["memory", async () => createMemoryUserStore()],
  ["Kysely on PGlite", () => pglite.freshStore()],
];

describe.each(stores)("username rules through the routes (%s store)", (_name, freshStore) => {
  it.each(["\u034f", "\ufe0f", "\ufe00", "\u3164", "\u115f", "\uffa0", "\u2800", "\u180b", "\u17b4"])(
    "refuses a look-alike JohnDoe made with invisible U+%s",
    async (character) => {
      ({ app } = await buildApp({ store: await freshStore() }));
      expectStatus(await signUp(app, "JohnDoe", "johnspassword"), 201);
      const response = await signUp(app, `John${character}Doe`, "johnspassword");
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ code: "USERNAME_INVALID", field: "username" });
    },
  );

  it("under confusable uniqueness refuses look-alikes, logs in by any of them, keeps the typed case", async () => {
    ({ app } = await buildApp({ store: await freshStore(), usernamePolicy: { uniqueness: "confusable" } }));
    expectStatus(await signUp(app, "JohnDoe", "johnspassword"), 201);
    for (const lookAlike of ["johndoe", "JOHNDOE", "\uff2a\uff4f\uff48\uff4e\uff24\uff4f\uff45", "\u0408\u043ehnDoe"]) {
      const response = await signUp(app, lookAlike, "another password");
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ code: "USERNAME_TAKEN" });
    }
    const login = await logIn(app, "johndoe", "johnspassword");
    expectStatus(login, 200);
    const me = await getMe(app, `Bearer ${login.json().access_token}`);
    expect(me.json()).toEqual({ username: "JohnDoe" });
  });

  it("under exact uniqueness (the default) keeps the original's rule: case makes another user", async () => {
    ({ app } = await buildApp({ store: await freshStore() }));
    expectStatus(await signUp(app, "JohnDoe", "johnspassword"), 201);
    expectStatus(await signUp(app, "johndoe", "johnspassword"), 201);
  });

  it("refuses to start with a policy under which existing users would merge", async () => {
    const store = await freshStore();
    await store.create({ username: "JohnDoe", passwordHash: "x" });
    await store.create({ username: "johndoe", passwordHash: "y" });
    await expect(buildApp({ store, usernamePolicy: { uniqueness: "case-insensitive" } })).rejects.toMatchObject({
      code: "USERNAME_KEY_CONFLICT",
      message: expect.stringContaining('"JohnDoe" = "johndoe"'),
    });
  });
});

it("refuses a non-exact policy for a store without username keys, at registration", async () => {
  const { findByUsernameKey: _find, prepareUsernameKeys: _prepare, ...exactOnly } = createMemoryUserStore();
  await expect(buildApp({ store: exactOnly, usernamePolicy: { uniqueness: "confusable" } })).rejects.toMatchObject({
    code: "INVALID_OPTIONS",
    message: expect.stringContaining("username keys"),
  });
});
