import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Packs this package as npm would publish it and installs the tarball with npm into projects outside
// the workspace: what a user gets, without pnpm's workspace links. `bare` has no Fastify (the main
// entry must not need it); `full` has Fastify and TypeScript.

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(PACKAGE_DIR, "node_modules", ".bin");

let root: string;
let tarball: string;
let bare: string;
let full: string;

async function sh(
  command: string,
  args: string[],
  cwd: string,
  timeout = 0,
): Promise<{ stdout: string; stderr: string }> {
  try {
    const env = { ...process.env, NO_COLOR: "1" };
    return await run(command, args, { cwd, timeout, maxBuffer: 32 * 1024 * 1024, env });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw Object.assign(new Error(`${command} ${args.join(" ")} failed:\n${stdout}\n${stderr}`), { stdout, stderr });
  }
}

/** Runs a command that must fail; resolves to its combined output. */
async function shFails(command: string, args: string[], cwd: string): Promise<string> {
  try {
    await sh(command, args, cwd);
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    return stdout + stderr;
  }
  throw new Error(`${command} ${args.join(" ")} succeeded but should have failed`);
}

/** The version the workspace uses, so the consumer gets the same one (and npm's cache hits). */
async function workspaceVersion(name: string): Promise<string> {
  const manifestPath = createRequire(join(PACKAGE_DIR, "package.json")).resolve(`${name}/package.json`);
  return JSON.parse(await readFile(manifestPath, "utf8")).version as string;
}

async function npmInstall(project: string, packages: string[]): Promise<void> {
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  const args = ["install", "--no-audit", "--no-fund", "--prefer-offline", "--fetch-timeout=60000", "--fetch-retries=3"];
  // One retry: a registry hiccup is not a packaging bug. A second failure fails the suite.
  await sh("npm", [...args, ...packages], project, 240_000).catch(() =>
    sh("npm", [...args, ...packages], project, 240_000),
  );
}

// A JWKS server, a token signed the way the Latchkey server signs them, and the verifier: in the
// consumer's own process, with nothing from the workspace.
const VERIFY_FLOW = `
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const kid = await calculateJwkThumbprint(jwk);
  const server = createServer((request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ keys: [{ ...jwk, kid, alg: "ES256", use: "sig" }] }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = "http://127.0.0.1:" + server.address().port;
  const token = await new SignJWT({ sub: "JohnDoe", uid: "u-1" })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid })
    .setIssuer(issuer)
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(privateKey);
  const verifier = createLatchkeyVerifier({ issuer });
  const verified = await verifier.verify(token);
  const refused = await verifier.verify("garbage").catch((error) => [error.code, error.problem, error instanceof TokenInvalidError]);
  const result = { username: verified.username, uid: verified.claims.uid, refused };
`;

const FASTIFY_FLOW = `
  const app = Fastify();
  await app.register(latchkeyVerify, { issuer });
  app.get("/me", { onRequest: [app.authenticate] }, async (request) => ({ username: request.user.username }));
  const ok = await app.inject({ url: "/me", headers: { authorization: "Bearer " + token } });
  const missing = await app.inject({ url: "/me" });
  result.fastify = [ok.statusCode, ok.json(), missing.statusCode, missing.headers["www-authenticate"], missing.json().code];
  await app.close();
`;

const PRINT = `\n  console.log(JSON.stringify(result));\n  server.close();\n`;

const esm = (imports: string, body: string) =>
  `import { generateKeyPairSync } from "node:crypto";\nimport { createServer } from "node:http";\nimport { SignJWT, calculateJwkThumbprint } from "jose";\n${imports}\n${body}${PRINT}`;
const cjs = (requires: string, body: string) =>
  `const { generateKeyPairSync } = require("node:crypto");\nconst { createServer } = require("node:http");\nconst { SignJWT, calculateJwkThumbprint } = require("jose");\n${requires}\n(async () => {${body}${PRINT}})().catch((error) => { console.error(error); process.exit(1); });`;

const EXPECTED = { username: "JohnDoe", uid: "u-1", refused: ["TOKEN_INVALID", "malformed", true] };
const EXPECTED_WITH_FASTIFY = {
  ...EXPECTED,
  fastify: [200, { username: "JohnDoe" }, 401, "Bearer", "NOT_AUTHENTICATED"],
};

const TYPED_CONSUMER = (usernameType: string) => `
import { createLatchkeyVerifier, type LatchkeyVerifier, type VerifiedAccessToken, KeysUnavailableError } from "@latchkey/verify";
import { type LatchkeyUser, latchkeyVerify } from "@latchkey/verify/fastify";
import Fastify from "fastify";

const verifier: LatchkeyVerifier = createLatchkeyVerifier({ issuer: "https://auth.example.com", audience: "orders", algorithms: ["ES256"] });
// @ts-expect-error HS256 is not a public-key algorithm
createLatchkeyVerifier({ issuer: "https://auth.example.com", algorithms: ["HS256"] });
const result: VerifiedAccessToken = await verifier.verify(process.argv[2] ?? "");
const name: ${usernameType} = result.username;
const unavailable: boolean = new KeysUnavailableError("down") instanceof Error;

const app = Fastify();
await app.register(latchkeyVerify, { issuer: "https://auth.example.com", retryAfterSeconds: 3 });
app.get("/me", { onRequest: [app.authenticate] }, async (request) => {
  const username: ${usernameType} = request.user.username;
  const user: LatchkeyUser = request.user;
  return { username, exp: user.claims.exp, sid: user.claims.sid };
});
export { name, unavailable };
`;

const TYPED_CJS_CONSUMER = `
import { createLatchkeyVerifier } from "@latchkey/verify";
import { latchkeyVerify } from "@latchkey/verify/fastify";
import Fastify from "fastify";

const app = Fastify();
app.register(latchkeyVerify, { issuer: "https://auth.example.com" });
app.after(() => {
  app.get("/me", { preHandler: app.authenticate }, async (request) => ({ name: request.user.username.toUpperCase() }));
});
export const verifier = createLatchkeyVerifier({ issuer: "https://auth.example.com" });
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "latchkey-verify-install-"));
  const packed = join(root, "tarballs");
  bare = join(root, "bare");
  full = join(root, "full");
  await Promise.all([mkdir(packed), mkdir(bare), mkdir(full)]);

  const { stdout } = await sh("pnpm", ["pack", "--pack-destination", packed], PACKAGE_DIR);
  tarball = stdout.trim().split("\n").pop()?.trim() as string;
  expect(tarball).toMatch(/\.tgz$/);

  const jose = `jose@${await workspaceVersion("jose")}`;
  // One after the other: the machine is small, and the second install hits the first one's cache.
  await npmInstall(bare, [tarball, jose]);
  await npmInstall(full, [
    tarball,
    jose,
    `fastify@${await workspaceVersion("fastify")}`,
    `typescript@${await workspaceVersion("typescript")}`,
    "@types/node@20",
  ]);
}, 600_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

// npm, node and tsc each take seconds, many more when the machine is busy with other test runs.
const SLOW = { timeout: 300_000 };

/**
 * Runs a consumer's flow (under a second normally). One CI run saw a flow never exit, which no
 * later run reproduced: a flow gets 60 s, and one more try, with a line saying so, before it fails.
 */
async function runFlow(file: string, cwd: string): Promise<string> {
  try {
    return (await sh("node", [file], cwd, 60_000)).stdout;
  } catch (error) {
    console.warn(`[verify install] node ${file} failed or hung once; trying again:\n${(error as Error).message}`);
    return (await sh("node", [file], cwd, 60_000)).stdout;
  }
}

describe("installed from the tarball with npm, outside the workspace", SLOW, () => {
  it("the main entry works without Fastify installed, from ESM and from CommonJS", async () => {
    expect(existsSync(join(bare, "node_modules", "fastify"))).toBe(false);
    const imports = `import { createLatchkeyVerifier, TokenInvalidError } from "@latchkey/verify";`;
    await writeFile(join(bare, "flow.mjs"), esm(imports, VERIFY_FLOW));
    expect(JSON.parse(await runFlow("flow.mjs", bare))).toEqual(EXPECTED);

    const requires = `const { createLatchkeyVerifier, TokenInvalidError } = require("@latchkey/verify");`;
    await writeFile(join(bare, "flow.cjs"), cjs(requires, VERIFY_FLOW));
    expect(JSON.parse(await runFlow("flow.cjs", bare))).toEqual(EXPECTED);
  });

  it("both entry points work with Fastify, from ESM", async () => {
    const imports = `import Fastify from "fastify";\nimport { createLatchkeyVerifier, TokenInvalidError } from "@latchkey/verify";\nimport { latchkeyVerify } from "@latchkey/verify/fastify";`;
    await writeFile(join(full, "flow.mjs"), esm(imports, VERIFY_FLOW + FASTIFY_FLOW));
    expect(JSON.parse(await runFlow("flow.mjs", full))).toEqual(EXPECTED_WITH_FASTIFY);
  });

  it("both entry points work with Fastify, from CommonJS", async () => {
    const requires = `const Fastify = require("fastify");\nconst { createLatchkeyVerifier, TokenInvalidError } = require("@latchkey/verify");\nconst { latchkeyVerify } = require("@latchkey/verify/fastify");`;
    await writeFile(join(full, "flow.cjs"), cjs(requires, VERIFY_FLOW + FASTIFY_FLOW));
    expect(JSON.parse(await runFlow("flow.cjs", full))).toEqual(EXPECTED_WITH_FASTIFY);
  });

  it("type-checks a TypeScript consumer of both entry points (ESM and CJS), with request.user typed", async () => {
    const compilerOptions = {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ["node"],
    };
    await writeFile(join(full, "good.ts"), TYPED_CONSUMER("string"));
    await writeFile(join(full, "good-cjs.cts"), TYPED_CJS_CONSUMER);
    await writeFile(join(full, "bad.ts"), TYPED_CONSUMER("number"));
    await writeFile(
      join(full, "tsconfig.json"),
      JSON.stringify({ compilerOptions, files: ["good.ts", "good-cjs.cts"] }),
    );
    await writeFile(join(full, "tsconfig.bad.json"), JSON.stringify({ compilerOptions, files: ["bad.ts"] }));

    const tsc = join(full, "node_modules", ".bin", "tsc");
    await sh(tsc, ["-p", "tsconfig.json"], full);
    // The same file with `username: number` must fail, or the check above proves nothing.
    const output = await shFails(tsc, ["-p", "tsconfig.bad.json"], full);
    expect(output).toMatch(/bad\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(output.match(/error TS/g)).toHaveLength(2); // result.username and request.user.username
  });

  it("passes publint and attw", async () => {
    const publint = await sh(join(BIN, "publint"), ["run", tarball, "--strict"], PACKAGE_DIR);
    expect(publint.stdout).toContain("All good!");
    await sh(join(BIN, "attw"), [tarball, "--profile", "strict", "--no-color", "--no-emoji"], PACKAGE_DIR);
  });
});
