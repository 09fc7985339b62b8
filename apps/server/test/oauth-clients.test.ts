import * as oidc from "openid-client";
import { ResourceOwnerPassword } from "simple-oauth2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgliteDatabase, type TestDatabase } from "../src/testing/databases.js";
import { type RunningServer, startServer } from "../src/testing/server-process.js";

// `POST /token` as programs call it: through widely used OAuth 2.0 client libraries from npm, with
// the password grant, against the real server process. The libraries are real; nothing is mocked.

interface Served {
  database: TestDatabase;
  server: RunningServer;
}

async function serve(env: Record<string, string> = {}): Promise<Served> {
  const database = await pgliteDatabase();
  const server = await startServer({ ...database.env, BCRYPT_COST: "4", ...env });
  const created = await fetch(`${server.url}/users/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "JohnDoe", password: "johnspassword" }),
  });
  expect(created.status).toBe(201);
  return { database, server };
}

async function dispose(served: Served | undefined): Promise<void> {
  await served?.server.stop();
  await served?.database.dispose();
}

/** openid-client for a server that only has a token endpoint; plain HTTP is allowed for loopback. */
function openidConfiguration(base: string): oidc.Configuration {
  const config = new oidc.Configuration(
    { issuer: base, token_endpoint: `${base}/token` },
    "cli",
    undefined,
    oidc.None(),
  );
  oidc.allowInsecureRequests(config);
  return config;
}

/** What a rejected promise was rejected with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

describe("OAuth 2.0 client libraries against the server (default settings)", () => {
  let served: Served;
  let base: string;

  beforeAll(async () => {
    served = await serve();
    base = served.server.url;
  });
  afterAll(() => dispose(served));

  describe.each([
    ["client credentials in a Basic header", "header"],
    ["client credentials in the body", "body"],
  ] as const)("simple-oauth2 (%s)", (_case, authorizationMethod) => {
    const client = () =>
      new ResourceOwnerPassword({
        client: { id: "cli", secret: "unused" },
        auth: { tokenHost: base, tokenPath: "/token" },
        options: { authorizationMethod },
      });

    it("gets a token and reads its lifetime from expires_in", async () => {
      const token = await client().getToken({ username: "JohnDoe", password: "johnspassword" });
      expect(token.token.token_type).toBe("bearer");
      expect(token.token.expires_in).toBe(1800);
      // The library computes expires_at from expires_in: not expired now, expired within 31 minutes.
      expect(token.expired()).toBe(false);
      expect(token.expired(1801)).toBe(true);
      const me = await fetch(`${base}/users/me`, {
        headers: { authorization: `Bearer ${token.token.access_token as string}` },
      });
      expect(await me.json()).toEqual({ username: "JohnDoe" });
    });

    it("sees a wrong password as invalid_grant", async () => {
      const error = (await rejection(client().getToken({ username: "JohnDoe", password: "wrong-password" }))) as {
        output: { statusCode: number };
        data: { payload: Record<string, unknown> };
      };
      expect(error.output.statusCode).toBe(401);
      expect(error.data.payload).toMatchObject({
        error: "invalid_grant",
        error_description: "Incorrect username or password",
        detail: "Incorrect username or password",
      });
    });

    it("sees a malformed request as invalid_request", async () => {
      const error = (await rejection(client().getToken({ username: "JohnDoe" } as never))) as {
        data: { payload: Record<string, unknown> };
      };
      expect(error.data.payload).toMatchObject({ error: "invalid_request", field: "password" });
    });
  });

  it("openid-client gets a token and reads expires_in", async () => {
    const response = await oidc.genericGrantRequest(openidConfiguration(base), "password", {
      username: "JohnDoe",
      password: "johnspassword",
    });
    expect(response.token_type).toBe("bearer");
    expect(response.expires_in).toBe(1800);
    expect(response.expiresIn()).toBeGreaterThan(1790);
  });

  it("openid-client reads the original's 401 challenge as a challenge, not as invalid_grant", async () => {
    // oauth4webapi (under openid-client) turns any 401 with WWW-Authenticate into a challenge error
    // before reading the body; TOKEN_INVALID_GRANT_STATUS=400 is the setting for such clients (below).
    const error = await rejection(
      oidc.genericGrantRequest(openidConfiguration(base), "password", { username: "JohnDoe", password: "nope" }),
    );
    expect(error).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
    expect((error as oidc.WWWAuthenticateChallengeError).status).toBe(401);
  });
});

describe("OAuth 2.0 client libraries with TOKEN_INVALID_GRANT_STATUS=400 (RFC 6749's status)", () => {
  let served: Served;

  beforeAll(async () => {
    served = await serve({ TOKEN_INVALID_GRANT_STATUS: "400" });
  });
  afterAll(() => dispose(served));

  it("openid-client sees a wrong password as invalid_grant", async () => {
    const error = await rejection(
      oidc.genericGrantRequest(openidConfiguration(served.server.url), "password", {
        username: "JohnDoe",
        password: "wrong-password",
      }),
    );
    expect(error).toBeInstanceOf(oidc.ResponseBodyError);
    expect(error).toMatchObject({
      error: "invalid_grant",
      error_description: "Incorrect username or password",
      status: 400,
    });
  });

  it("openid-client sees a grant it does not offer as unsupported_grant_type", async () => {
    const error = await rejection(
      oidc.genericGrantRequest(openidConfiguration(served.server.url), "client_credentials", {}),
    );
    expect(error).toMatchObject({ error: "unsupported_grant_type", status: 400 });
  });

  it("simple-oauth2 still logs in", async () => {
    const client = new ResourceOwnerPassword({
      client: { id: "cli", secret: "unused" },
      auth: { tokenHost: served.server.url, tokenPath: "/token" },
    });
    const token = await client.getToken({ username: "JohnDoe", password: "johnspassword" });
    expect(token.token.expires_in).toBe(1800);
  });
});
