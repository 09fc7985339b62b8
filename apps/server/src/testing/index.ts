export { pgliteDatabase, postgresDatabase, type TestDatabase, testDatabases } from "./databases.js";
