import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, loggerOptions } from "../src/app.js";
import { LOG_LEVELS, loadConfig } from "../src/config.js";
import { type Database, openDatabase } from "../src/database.js";

// The server's own logger settings at every level, on a real socket (client errors only happen
// there), through the requests that carry secrets: sign-up and login bodies, bearer headers, a
// token in a query string, and a malformed request whose raw bytes hold a token and a password.

const SECRET_KEY = "log-test-secret-key-0123456789abcdef";
let root: string;
let database: Database;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "latchkey-logs-"));
  database = await openDatabase(loadConfig({ SECRET_KEY, DATA_DIR: join(root, "data") }));
});
afterAll(async () => {
  await database?.close();
  await rm(root, { recursive: true, force: true });
});

function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let received = "";
    socket.on("data", (chunk) => (received += chunk));
    socket.on("close", () => resolve(received));
    socket.on("error", () => resolve(received));
    socket.end(bytes);
  });
}

const levels = LOG_LEVELS.filter((level) => level !== "silent");

describe.each(levels)("logs at LOG_LEVEL=%s", (level) => {
  it("never hold a password, a hash or a token", async () => {
    let text = "";
    const stream = new Writable({
      write(chunk, _encoding, done) {
        text += chunk;
        done();
      },
    });
    const config = loadConfig({
      LOG_LEVEL: level,
      BCRYPT_COST: "4",
      SECRET_KEY,
      RATE_LIMIT_LOGIN_FAILURES: "0",
      DATA_DIR: join(root, "data"),
    });
    const app: FastifyInstance = await buildApp({
      config,
      database,
      secretKey: SECRET_KEY,
      logger: { ...loggerOptions(config, false), stream },
    });
    const base = await app.listen({ host: "127.0.0.1", port: 0 });
    const port = Number(new URL(base).port);
    const username = `Log${level}`;
    const password = `pw-${level}-correct-horse`;
    const wrong = `pw-${level}-wrong-horse`;
    try {
      const json = { "content-type": "application/json" };
      const form = { "content-type": "application/x-www-form-urlencoded" };
      await fetch(`${base}/users/`, { method: "POST", headers: json, body: JSON.stringify({ username, password }) });
      const login = await fetch(`${base}/token`, {
        method: "POST",
        headers: form,
        body: new URLSearchParams({ username, password }),
      });
      const token = ((await login.json()) as { access_token: string }).access_token;
      await fetch(`${base}/token`, {
        method: "POST",
        headers: form,
        body: new URLSearchParams({ username, password: wrong }),
      });
      await fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${token}` } });
      await fetch(`${base}/users/me?access_token=${token}`);
      await fetch(`${base}/users/`, { method: "POST", headers: json, body: `{"username":"x","password":"${wrong}"` });
      // An invalid header name makes Node's parser fail; the raw bytes hold a bearer token and a password.
      const answer = await rawRequest(
        port,
        `POST /token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nBad Header: 1\r\n` +
          `Content-Length: 40\r\n\r\nusername=${username}&password=${password}`,
      );
      expect(answer).toMatch(/^HTTP\/1.1 400/);
      const hash = (await database.store.findByUsername(username))?.passwordHash as string;
      await app.close();
      await new Promise((resolve) => setImmediate(resolve));

      for (const secret of [password, wrong, token, token.split(".")[2] as string, hash]) {
        expect(text).not.toContain(secret);
      }
      if (level === "trace" || level === "debug" || level === "info") {
        expect(text).toContain("/users/me?access_token=[redacted]");
      }
      if (level === "trace") expect(text).toMatch(/HPE_INVALID_HEADER_TOKEN|client error/i);
    } finally {
      if (app.server.listening) await app.close();
    }
  });
});
