import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Packs the publishable packages as npm would publish them and installs the tarballs with npm into
// a project outside the workspace: what a user gets, without pnpm's workspace links.

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const PACKAGES_DIR = resolve(PACKAGE_DIR, "..");
const BIN = join(PACKAGE_DIR, "node_modules", ".bin");
const SECRET = "an-install-test-secret-of-32-bytes!";

/** Publishable workspace packages to pack and lint; `install` ones are also installed into the project. */
const PACKAGES = [
  { dir: "core", name: "@latchkey/core", install: true, attwProfile: "strict" },
  { dir: "fastify", name: "@latchkey/fastify", install: true, attwProfile: "strict" },
  { dir: "kysely", name: "@latchkey/kysely", install: false, attwProfile: "strict" },
].filter((pkg) => existsSync(join(PACKAGES_DIR, pkg.dir, "package.json")));

let root: string;
let project: string;
const tarballs = new Map<string, string>();

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

const CONSUMER_FLOW = `
  const app = Fastify();
  await app.register(latchkey, { store: createMemoryUserStore(), secret: ${JSON.stringify(SECRET)}, bcryptCost: 4 });
  const created = await app.inject({
    method: "POST",
    url: "/users/",
    headers: { accept: "application/json", "content-type": "application/json" },
    payload: JSON.stringify({ username: "JohnDoe", password: "johnspassword" }),
  });
  const login = await app.inject({
    method: "POST",
    url: "/token",
    headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
    payload: "username=JohnDoe&password=johnspassword",
  });
  const me = await app.inject({ method: "GET", url: "/users/me", headers: { authorization: "Bearer " + login.json().access_token } });
  console.log(JSON.stringify({
    created: [created.statusCode, created.json()],
    login: [login.statusCode, login.json().token_type, typeof login.json().access_token],
    me: [me.statusCode, me.json()],
  }));
  await app.close();
`;

const EXPECTED_FLOW = {
  created: [201, { username: "JohnDoe" }],
  login: [200, "bearer", "string"],
  me: [200, { username: "JohnDoe" }],
};

const TYPED_CONSUMER = (usernameType: string) => `
import { createMemoryUserStore } from "@latchkey/core";
import { type LatchkeyOptions, type LatchkeyUser, latchkey } from "@latchkey/fastify";
import Fastify from "fastify";

const app = Fastify();
const options: LatchkeyOptions = { store: createMemoryUserStore(), secret: process.argv[2] ?? "", expiresInSeconds: 600 };
await app.register(latchkey, options);
app.get("/private", { onRequest: [app.authenticate] }, async (request) => {
  const username: ${usernameType} = request.user.username;
  const user: LatchkeyUser = request.user;
  return { username, exp: user.claims.exp };
});
const token: string = await app.latchkey.tokens.createAccessToken({ sub: "JohnDoe" });
const signed: string = app.jwt.sign({ sub: "JohnDoe" });
export { token, signed };
`;

const TYPED_CJS_CONSUMER = `
import { createMemoryUserStore } from "@latchkey/core";
import { latchkey, latchkeyRedactPaths } from "@latchkey/fastify";
import Fastify from "fastify";

const app = Fastify({ logger: { redact: [...latchkeyRedactPaths] } });
app.register(latchkey, { store: createMemoryUserStore(), secret: "x".repeat(32) });
app.after(() => {
  app.get("/private", { preHandler: app.authenticate }, async (request) => ({ name: request.user.username.toUpperCase() }));
});
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "latchkey-install-"));
  const packed = join(root, "tarballs");
  project = join(root, "consumer");
  await mkdir(packed);
  await mkdir(project);

  for (const pkg of PACKAGES) {
    const { stdout } = await sh("pnpm", ["pack", "--pack-destination", packed], join(PACKAGES_DIR, pkg.dir));
    const tarball = stdout.trim().split("\n").pop()?.trim() as string;
    expect(tarball).toMatch(/\.tgz$/);
    tarballs.set(pkg.name, tarball);
  }

  await writeFile(
    join(project, "package.json"),
    JSON.stringify({ name: "latchkey-consumer", private: true, type: "module" }, null, 2),
  );
  const installs = PACKAGES.filter((pkg) => pkg.install).map((pkg) => tarballs.get(pkg.name) as string);
  const npmInstall = [
    "install",
    "--no-audit",
    "--no-fund",
    // The workspace's own install has usually cached everything; bounded fetches so a stalled
    // registry connection fails the attempt instead of hanging the suite.
    "--prefer-offline",
    "--fetch-timeout=60000",
    "--fetch-retries=3",
    ...installs,
    `fastify@${await workspaceVersion("fastify")}`,
    `typescript@${await workspaceVersion("typescript")}`,
    "@types/node@20",
  ];
  // One retry: a registry hiccup is not a packaging bug. A second failure fails the suite.
  await sh("npm", npmInstall, project, 240_000).catch(() => sh("npm", npmInstall, project, 240_000));
}, 600_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

// npm, node and tsc each take seconds, many more when the machine is busy with other test runs.
const SLOW = { timeout: 300_000 };

describe("installed from tarballs with npm, outside the workspace", SLOW, () => {
  it("runs the flow from an ES module", async () => {
    await writeFile(
      join(project, "flow.mjs"),
      `import Fastify from "fastify";\nimport { createMemoryUserStore } from "@latchkey/core";\nimport { latchkey } from "@latchkey/fastify";\n${CONSUMER_FLOW}`,
    );
    const { stdout } = await sh("node", ["flow.mjs"], project);
    expect(JSON.parse(stdout)).toEqual(EXPECTED_FLOW);
  });

  it("runs the flow from a CommonJS module", async () => {
    await writeFile(
      join(project, "flow.cjs"),
      `const Fastify = require("fastify");\nconst { createMemoryUserStore } = require("@latchkey/core");\nconst { latchkey } = require("@latchkey/fastify");\n(async () => {${CONSUMER_FLOW}})().catch((error) => { console.error(error); process.exit(1); });`,
    );
    const { stdout } = await sh("node", ["flow.cjs"], project);
    expect(JSON.parse(stdout)).toEqual(EXPECTED_FLOW);
  });

  it("type-checks a TypeScript consumer (ESM and CJS) with request.user.username as a string", async () => {
    const compilerOptions = {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ["node"],
    };
    await writeFile(join(project, "good.ts"), TYPED_CONSUMER("string"));
    await writeFile(join(project, "good-cjs.cts"), TYPED_CJS_CONSUMER);
    await writeFile(join(project, "bad.ts"), TYPED_CONSUMER("number"));
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions, files: ["good.ts", "good-cjs.cts"] }),
    );
    await writeFile(join(project, "tsconfig.bad.json"), JSON.stringify({ compilerOptions, files: ["bad.ts"] }));

    await sh(join(project, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], project);
    // The same file with `username: number` must fail, or the check above proves nothing.
    const output = await shFails(join(project, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.bad.json"], project);
    expect(output).toMatch(/bad\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it.each(PACKAGES.map((pkg) => [pkg.name, pkg] as const))("%s passes publint and attw", async (name, pkg) => {
    const tarball = tarballs.get(name) as string;
    const publint = await sh(join(BIN, "publint"), ["run", tarball, "--strict"], PACKAGE_DIR);
    expect(publint.stdout).toContain("All good!");
    await sh(join(BIN, "attw"), [tarball, "--profile", pkg.attwProfile, "--no-color", "--no-emoji"], PACKAGE_DIR);
  });
});
