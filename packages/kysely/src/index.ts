export { MigrationFailedError } from "./errors.js";
export { createKyselyKeyStore, type KyselyKeyStoreOptions } from "./key-store.js";
export { type MigrateOptions, migrateToLatest } from "./migrate.js";
export { createPgliteDatabase, type PgliteDatabaseOptions } from "./pglite.js";
export { PGliteDialect, type PGliteDialectConfig, type PGliteLike } from "./pglite-dialect.js";
export {
  createPostgresDatabase,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_POOL_SIZE,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  type PostgresDatabaseOptions,
} from "./postgres.js";
export {
  createPostgresRevocationListener,
  type PostgresRevocationListenerOptions,
  type RevocationListener,
} from "./revocation-listener.js";
export { DEFAULT_TABLE_NAME, type UsersDatabase, type UsersTable } from "./schema.js";
export { createKyselySessionStore, type KyselySessionStoreOptions } from "./session-store.js";
export { createKyselyUserStore, type KyselyUserStoreOptions } from "./store.js";
export { inspectUsernameKeys, type UsernameKeysState } from "./username-keys.js";
