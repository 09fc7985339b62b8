export { pgliteDatabase, postgresDatabase, type TestDatabase, testDatabases } from "./databases.js";
export { MAIN, type RunningServer, runToExit, serverEnv, startServer } from "./server-process.js";
