import { type Kysely, type Migration, sql } from "kysely";
import { signingKeysTableName } from "../schema.js";

/**
 * Creates `latchkey_<table>_signing_keys`: the keyring. A key's state (next, active, retiring,
 * retired, revoked) is not a column but follows from `generation`, `activates_at` and
 * `revoked_at`, so instances agree on it without a scheduler. `generation` is unique: two instances
 * rotating at once cannot both add a key for the same turn. Private keys are stored sealed
 * (AES-256-GCM under KEY_ENCRYPTION_KEY); the HMAC key (SECRET_KEY) is never stored.
 */
export function createSigningKeysMigration(tableName: string): Migration {
  const keys = signingKeysTableName(tableName);
  return {
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's Migration signature.
    async up(db: Kysely<any>) {
      await sql`
        create table if not exists ${sql.table(keys)} (
          kid varchar primary key,
          alg varchar not null,
          generation integer not null unique,
          created_at timestamptz not null default now(),
          activates_at timestamptz not null,
          revoked_at timestamptz,
          public_jwk text,
          sealed_private_key text
        )`.execute(db);
    },
  };
}
