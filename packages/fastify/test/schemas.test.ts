import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { ErrorBodySchema, TokenOutSchema, UserOutSchema } from "../src/schemas.js";

/** What Fastify's serializer sends for `value` under `schema`, as a route would. */
async function serialize(schema: object, value: unknown): Promise<unknown> {
  const app = Fastify();
  app.get("/", { schema: { response: { 200: schema } } }, async () => value);
  const response = await app.inject({ method: "GET", url: "/" });
  await app.close();
  return response.json();
}

describe("response schemas", () => {
  it("send a stored user as its username only, even if a handler returned the whole row", async () => {
    const row = {
      id: "1",
      username: "JohnDoe",
      passwordHash: "$2b$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci",
    };
    expect(await serialize(UserOutSchema, row)).toEqual({ username: "JohnDoe" });
  });

  it("send a token response with nothing but access_token, token_type and expires_in", async () => {
    const value = { access_token: "a.b.c", token_type: "bearer", expires_in: 1800, user: { passwordHash: "x" } };
    expect(await serialize(TokenOutSchema, value)).toEqual({
      access_token: "a.b.c",
      token_type: "bearer",
      expires_in: 1800,
    });
  });

  it("send an error with its documented fields only", async () => {
    const value = { detail: "d", code: "C", field: "username", stack: "Error: at …", cause: "db" };
    expect(await serialize(ErrorBodySchema, value)).toEqual({ detail: "d", code: "C", field: "username" });
  });
});
