import { LatchkeyError, UsernameTakenError } from "@latchkey/core";
import { describe, expect, it } from "vitest";
import { toStoreError } from "../src/errors.js";

// Driver errors are made by hand here: these cases pin down the mapping table itself. The same
// mapping meets real driver errors in store.test.ts and faults.test.ts.
function driverError(message: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), fields);
}

const HASH = "$2b$12$DBt5ZYBrP0PyipdqAu3Uq.0VyGRuupETGXrOEOpX7ZgpNgIAscGUe";

describe("toStoreError", () => {
  it("turns a unique violation on username during create into USERNAME_TAKEN with the cause", () => {
    const cause = driverError("duplicate key", { code: "23505", detail: "Key (username)=(JohnDoe) already exists." });
    const error = toStoreError(cause, "create");
    expect(error).toBeInstanceOf(UsernameTakenError);
    expect(error.cause).toBe(cause);
  });

  it("treats a unique violation without detail as the username's", () => {
    expect(toStoreError(driverError("duplicate key", { code: "23505" }), "create").code).toBe("USERNAME_TAKEN");
  });

  it.each([
    [{ code: "57014" }, "the statement timed out or was cancelled (SQLSTATE 57014)"],
    [{ code: "57P01" }, "the server terminated the connection (SQLSTATE 57P01)"],
    [{ code: "53300" }, "the server has too many connections (SQLSTATE 53300)"],
    [{ code: "08006" }, "connection failure (SQLSTATE 08006)"],
    [{ code: "42P01" }, "database error (SQLSTATE 42P01)"],
    [{ code: "ECONNREFUSED" }, "cannot reach the database (ECONNREFUSED)"],
    [{ code: "ENOTFOUND" }, "cannot reach the database (ENOTFOUND)"],
    [{ code: "ECONNRESET" }, "the connection to the database was lost (ECONNRESET)"],
  ])("describes %j as %j", (fields, reason) => {
    const error = toStoreError(driverError(`boom ${HASH}`, fields), "findByUsername");
    expect(error.code).toBe("STORE_UNAVAILABLE");
    expect(error.message).toBe(`User store is unavailable (findByUsername): ${reason}`);
  });

  it.each([
    ["timeout exceeded when trying to connect", "no connection became free in time (pool exhausted or database slow)"],
    ["Connection terminated due to connection timeout", "connecting to the database timed out"],
    ["Connection terminated unexpectedly", "the connection to the database was lost"],
    ["PGlite is closed", "the embedded database is closed"],
    ["driver has already been destroyed", "the database handle has been closed"],
    [`invalid input near '${HASH}'`, "unexpected database error"],
  ])("describes a driver error saying %j as %j", (message, reason) => {
    expect(toStoreError(driverError(message), "deleteByUsername").message).toBe(
      `User store is unavailable (deleteByUsername): ${reason}`,
    );
  });

  it("never copies the driver's message, which may quote a hash, into its own", () => {
    const cause = driverError(`value ${HASH} rejected`, { code: "22001", detail: HASH });
    const error = toStoreError(cause, "updatePasswordHash");
    expect(error.message).not.toContain(HASH);
    expect(error.cause).toBe(cause);
  });

  it("does not call a unique violation outside create USERNAME_TAKEN", () => {
    expect(toStoreError(driverError("duplicate key", { code: "23505" }), "updatePasswordHash").code).toBe(
      "STORE_UNAVAILABLE",
    );
  });

  it("passes Latchkey's own errors through untouched", () => {
    const own = new LatchkeyError("SOMETHING", "already typed");
    expect(toStoreError(own, "create")).toBe(own);
  });

  it("copes with things thrown that are not errors", () => {
    expect(toStoreError("a string", "create").message).toBe(
      "User store is unavailable (create): unexpected database error",
    );
    expect(toStoreError(null, "create").code).toBe("STORE_UNAVAILABLE");
  });
});
