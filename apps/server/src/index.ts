// The server's parts, for tools in this repository that run it in other ways (the benchmark
// suite adds its measuring routes to the same app). The package is private: not a public API.
export { type AppOptions, buildApp, loggerOptions } from "./app.js";
export { ConfigError, LOG_LEVELS, type LogLevel, loadConfig, type ServerConfig } from "./config.js";
export { type Database, openDatabase } from "./database.js";
export { resolveSecretKey, type SecretKeySource } from "./secret-key.js";
