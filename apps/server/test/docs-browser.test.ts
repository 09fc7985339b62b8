import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgliteDatabase, type TestDatabase } from "../src/testing/databases.js";
import { type RunningServer, startServer } from "../src/testing/server-process.js";
import { findChromium, launchChromium } from "./chromium.js";

// /docs in a real browser: the page must load under its Content-Security-Policy without a single
// console error, and "Authorize" (the OAuth2 password flow) must still fetch a token that opens
// GET /users/me from "Try it out".
const chromium = findChromium();
if (chromium.reason !== undefined) console.warn(`[latchkey/server] ${chromium.reason}: test/docs-browser.test.ts`);

describe.skipIf(chromium.path === undefined)(
  chromium.path === undefined ? `the /docs page in Chromium (${chromium.reason})` : "the /docs page in Chromium",
  () => {
    let database: TestDatabase;
    let server: RunningServer;
    let browser: Browser;
    let page: Page;
    const consoleErrors: string[] = [];

    beforeAll(async () => {
      database = await pgliteDatabase();
      server = await startServer({ ...database.env, BCRYPT_COST: "4" });
      const created = await fetch(`${server.url}/users/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "JohnDoe", password: "johnspassword" }),
      });
      expect(created.status).toBe(201);
      browser = await launchChromium(chromium.path as string);
      page = await browser.newPage();
      // CSP violations reach the console as errors; `pageerror` catches uncaught exceptions.
      page.on("console", (message) => {
        if (message.type() === "error") consoleErrors.push(message.text());
      });
      page.on("pageerror", (error) => consoleErrors.push(`uncaught: ${error.message}`));
    });
    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      await database?.dispose();
    });

    it("loads under its Content-Security-Policy with no console error", async () => {
      const response = await page.goto(`${server.url}/docs`, { waitUntil: "networkidle" });
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-security-policy"]).toMatch(/style-src 'self'/);
      await page.locator(".opblock").first().waitFor();
      expect(await page.locator(".opblock").count()).toBeGreaterThanOrEqual(3);
      expect(consoleErrors).toEqual([]);
    });

    it('"Authorize" gets a token with a username and password, and "Try it out" opens /users/me', async () => {
      await page.locator("button.authorize").first().click();
      await page.locator("#oauth_username").fill("JohnDoe");
      await page.locator("#oauth_password").fill("johnspassword");
      await page.locator(".auth-btn-wrapper button.authorize").click();
      // Swagger UI swaps its "Authorize" button for "Logout" once /token answered with a token.
      await page.locator(".auth-btn-wrapper button.authorize", { hasText: "Logout" }).waitFor();
      await page.locator("button.btn-done").click();

      // Exactly GET /users/me, not GET /users/me/sessions.
      const me = page.locator(".opblock-get", {
        has: page.locator(".opblock-summary-path", { hasText: /^\s*\/users\/me\s*$/ }),
      });
      await me.locator(".opblock-summary").click();
      await me.locator("button.try-out__btn").click();
      await me.locator("button.execute").click();
      const status = me.locator(".live-responses-table .response .response-col_status").first();
      await status.waitFor();
      expect((await status.textContent())?.trim()).toBe("200");
      expect(
        await me.locator(".live-responses-table .response .response-col_description").first().textContent(),
      ).toContain('"username": "JohnDoe"');
      expect(consoleErrors).toEqual([]);
    });
  },
);
