import { type Kysely, type Migration, sql } from "kysely";
import { sessionsTableName } from "../schema.js";

/**
 * Creates `latchkey_<table>_sessions`, one row per login (the family of its refresh tokens), with a
 * foreign key to the users table's `id` of whatever type that column has (the original's
 * `SERIAL`, a UUID, …), so deleting a user deletes their sessions. Nothing in the users table
 * changes. Refresh tokens themselves are never stored: a row holds the per-session salt and the
 * generation, from which only a holder of the server's secret can derive a token.
 */
export function createSessionsMigration(tableName: string): Migration {
  const sessions = sessionsTableName(tableName);
  return {
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's Migration signature.
    async up(db: Kysely<any>) {
      const { rows } = await sql<{ type: string | null }>`
        select format_type(atttypid, atttypmod) as type from pg_attribute
        where attrelid = to_regclass(${`"${tableName}"`}) and attname = 'id' and not attisdropped`.execute(db);
      const idType = rows[0]?.type;
      if (!idType) throw new Error(`table "${tableName}" has no id column to reference`);
      await sql`
        create table if not exists ${sql.table(sessions)} (
          id uuid primary key,
          user_id ${sql.raw(idType)} not null references ${sql.table(tableName)} (id) on delete cascade,
          username varchar not null,
          family_salt bytea not null,
          generation integer not null default 0,
          rotated_at timestamptz,
          created_at timestamptz not null,
          last_used_at timestamptz not null,
          absolute_expires_at timestamptz not null,
          revoked_at timestamptz,
          revoke_reason varchar,
          ip varchar,
          user_agent varchar
        )`.execute(db);
      await sql`create index if not exists ${sql.id(`${sessions}_user`)} on ${sql.table(sessions)} (user_id)`.execute(
        db,
      );
    },
  };
}
