import { type Kysely, type Migration, sql } from "kysely";
import { settingsTableName } from "../schema.js";

/**
 * Adds what the `case-insensitive` and `confusable` username uniqueness policies need, without
 * touching a row: a nullable `username_key` column with a unique index (the database decides who
 * gets a name under those policies too), and `latchkey_<table>_settings`, where the store records
 * which key scheme the keys were made under. Keys are filled in by the store's
 * `prepareUsernameKeys` at start-up, in JavaScript, where the Unicode data lives.
 *
 * Adding a nullable column without a default is a catalog change only, even on a large table.
 */
export function createUsernameKeysMigration(tableName: string): Migration {
  const table = sql.table(tableName);
  return {
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's Migration signature.
    async up(db: Kysely<any>) {
      await sql`alter table ${table} add column if not exists username_key varchar`.execute(db);
      await sql`
        create unique index if not exists ${sql.id(`${tableName}_username_key_unique`)}
        on ${table} (username_key)`.execute(db);
      await sql`
        create table if not exists ${sql.table(settingsTableName(tableName))} (
          name varchar primary key,
          value varchar not null
        )`.execute(db);
    },
  };
}
