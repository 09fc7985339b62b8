import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, testDatabases } from "../src/testing/databases.js";
import { type RunningServer, runToExit, startServer } from "../src/testing/server-process.js";
import { seedOriginalDatabase } from "./seed-original.js";

const exec = promisify(execFile);
const hasCurl = await exec("curl", ["--version"]).then(
  () => true,
  () => false,
);

/**
 * The original README's two commands, with only the base URL changed. They run through `curl`
 * itself when it is installed, else as the same requests through fetch.
 */
async function originalCurl(base: string, which: "create" | "token", username = "JohnDoe") {
  const command =
    which === "create"
      ? {
          path: "/users/",
          type: "application/json",
          body: `{"username":"${username}","password":"johnspassword"}`,
        }
      : {
          path: "/token",
          type: "application/x-www-form-urlencoded",
          body: `username=${username}&password=johnspassword`,
        };
  if (hasCurl) {
    const { stdout } = await exec("curl", [
      "-s",
      "-w",
      "\n%{http_code}",
      "-X",
      "POST",
      `${base}${command.path}`,
      "-H",
      "accept: application/json",
      "-H",
      `Content-Type: ${command.type}`,
      "-d",
      command.body,
    ]);
    const lines = stdout.split("\n");
    return { status: Number(lines.pop()), body: JSON.parse(lines.join("\n")) };
  }
  const response = await fetch(`${base}${command.path}`, {
    method: "POST",
    headers: { accept: "application/json", "content-type": command.type },
    body: command.body,
  });
  return { status: response.status, body: await json(response) };
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions themselves.
const json = async (response: Response): Promise<any> => response.json();

const me = (base: string, token: string) =>
  fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${token}` } });

describe.each(testDatabases())("the server process on $name", ({ open }) => {
  let database: TestDatabase;
  let server: RunningServer;
  let token: string;

  beforeAll(async () => {
    database = await open();
    server = await startServer({ ...database.env, BCRYPT_COST: "4" });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.dispose();
  });

  it("creates a user with the original's first curl command", async () => {
    expect(await originalCurl(server.url, "create")).toEqual({ status: 201, body: { username: "JohnDoe" } });
  });

  it("issues a bearer token with the original's second curl command", async () => {
    const { status, body } = await originalCurl(server.url, "token");
    expect(status).toBe(200);
    // The original's fields, then what it did not send (its clients ignore them): expires_in,
    // and the session's refresh token.
    expect(body).toEqual({
      access_token: expect.stringMatching(/^ey[\w-]+\.[\w-]+\.[\w-]+$/),
      token_type: "bearer",
      expires_in: 1800,
      refresh_token: expect.stringMatching(/^lkr1\.[\w-]+$/),
      refresh_expires_in: 604_800,
    });
    token = body.access_token;
  });

  it("answers /users/me for that token, and 401 without it", async () => {
    const response = await me(server.url, token);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ username: "JohnDoe" });
    const anonymous = await fetch(`${server.url}/users/me`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("answers 401 for a wrong password, 409 for a taken name", async () => {
    const login = await fetch(`${server.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "username=JohnDoe&password=wrong-password",
    });
    expect(login.status).toBe(401);
    expect((await json(login)).detail).toBe("Incorrect username or password");
    expect((await originalCurl(server.url, "create")).status).toBe(409);
  });

  it("serves interactive docs at /docs and an OpenAPI 3 document with the bearer scheme", async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/swagger/i);
    const spec = await json(await fetch(`${server.url}/docs/json`));
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(["/users/", "/token", "/users/me", "/health", "/ready"]),
    );
    expect(spec.components.securitySchemes.OAuth2PasswordBearer.flows.password.tokenUrl).toBe("token");
    expect(spec.paths["/users/me"].get.security).toEqual([{ OAuth2PasswordBearer: [] }]);
  });

  it("answers /health and /ready", async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
  });

  it("keeps users and tokens valid across a restart", async () => {
    expect(await server.stop("SIGTERM")).toBe(0);
    server = await startServer({ ...database.env, BCRYPT_COST: "4" });
    expect((await me(server.url, token)).status).toBe(200);
    expect((await originalCurl(server.url, "token")).status).toBe(200);
  });

  it("finishes a request in flight when it gets SIGTERM, then exits 0", async () => {
    await server.stop();
    // Cost 14 makes a login take about a second, long enough to signal in the middle of it.
    server = await startServer({ ...database.env, BCRYPT_COST: "14" });
    expect((await originalCurl(server.url, "create", "Slowpoke")).status).toBe(201);
    const login = originalCurl(server.url, "token", "Slowpoke");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exit = server.stop("SIGTERM");
    expect((await login).status).toBe(200);
    expect(await exit).toBe(0);
  });
});

describe.each(testDatabases())("starting on the original app's database ($name)", ({ open }) => {
  it("keeps its users able to log in with their passwords", async () => {
    const database = await open();
    await seedOriginalDatabase(database, "LegacyUser");
    const server = await startServer({ ...database.env, BCRYPT_COST: "12" });
    try {
      expect((await originalCurl(server.url, "token", "LegacyUser")).status).toBe(200);
      expect((await originalCurl(server.url, "create", "NewUser")).status).toBe(201);
    } finally {
      await server.stop();
      await database.dispose();
    }
  });
});

describe("configuration errors", () => {
  it.each([
    [{ PORT: "eighty" }, "PORT must be a whole number from 0 to 65535"],
    [{ SECRET_KEY: "YOUR_SECRET_KEY" }, "SECRET_KEY: The secret key is a documentation placeholder"],
    [{ SECRET_KEY: "too-short" }, "SECRET_KEY: The secret key must be at least 32 bytes"],
    [
      { NODE_ENV: "production" },
      "SECRET_KEY is required when NODE_ENV=production; make one with: openssl rand -hex 32",
    ],
    [{ DATABASE_URL: "localhost:5432/db" }, "DATABASE_URL must start with postgresql://"],
    [{ ACCESS_TOKEN_EXPIRE_MINUTES: "0" }, "ACCESS_TOKEN_EXPIRE_MINUTES must be a whole number from 1"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL must be one of"],
    [{ BCRYPT_COST: "40" }, "BCRYPT_COST must be a whole number from 4 to 31"],
    [{ DATABASE_URL: "postgresql://postgres@127.0.0.1:1/none" }, "Latchkey could not start"],
  ])("exits non-zero for %o with its message and no stack trace", async (env, message) => {
    const { code, output } = await runToExit({ DATA_DIR: "/nonexistent-never-created", ...env });
    expect(code).toBe(1);
    expect(output).toContain(message);
    expect(output).not.toMatch(/^\s+at /m);
  });

  it("reads a .env file in the working directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "latchkey-dotenv-"));
    await writeFile(join(dir, ".env"), "BCRYPT_COST=40\nPORT=1234\n");
    const { code, output } = await runToExit({ PORT: "0" }, dir);
    expect(code).toBe(1);
    expect(output).toContain('BCRYPT_COST must be a whole number from 4 to 31, got "40"');
    expect(output).not.toContain("PORT");
  });
});
