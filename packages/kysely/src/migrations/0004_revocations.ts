import { type Kysely, type Migration, sql } from "kysely";
import { revocationsTableName, sessionsTableName } from "../schema.js";

/**
 * Creates `latchkey_<table>_revocations`: what ends access tokens before their `exp` (an ended
 * session, a user's session-less tokens up to a time, one token by `jti`), one row per thing named,
 * each kept until every token it refuses has expired. Instances read it as a feed (by
 * `created_at`, indexed) and are told of new rows by `NOTIFY`. Nothing else changes.
 */
export function createRevocationsMigration(tableName: string): Migration {
  const revocations = revocationsTableName(tableName);
  return {
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's Migration signature.
    async up(db: Kysely<any>) {
      await sql`
        create table if not exists ${sql.table(revocations)} (
          kind varchar not null,
          key varchar not null,
          not_before timestamptz,
          expires_at timestamptz not null,
          created_at timestamptz not null default now(),
          primary key (kind, key)
        )`.execute(db);
      await sql`create index if not exists ${sql.id(`${revocations}_created`)} on ${sql.table(revocations)} (created_at)`.execute(
        db,
      );
      // The cleanup of ended sessions finds them by these.
      const sessions = sessionsTableName(tableName);
      await sql`create index if not exists ${sql.id(`${sessions}_ends`)} on ${sql.table(sessions)} (absolute_expires_at)`.execute(
        db,
      );
      await sql`create index if not exists ${sql.id(`${sessions}_last_used`)} on ${sql.table(sessions)} (last_used_at)`.execute(
        db,
      );
    },
  };
}
