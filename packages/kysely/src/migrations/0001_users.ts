import { type Kysely, type Migration, sql } from "kysely";

const REQUIRED_COLUMNS = ["id", "username", "password"] as const;

/**
 * Creates the original app's `users(id SERIAL PRIMARY KEY, username VARCHAR UNIQUE, password VARCHAR)`
 * when it is missing, or adopts the existing one — such as a table made by the original SQLAlchemy
 * app — keeping every row. Either way it then makes sure of what Latchkey relies on: exactly one
 * unique index on `username` (the database, not the application, decides who gets a name) and the
 * `created_at` / `updated_at` columns.
 *
 * Every step is idempotent, so a lost bookkeeping row or a re-run never duplicates anything.
 *
 * There is no `down`: the table may predate Latchkey and hold the only copy of its users'
 * credentials, so taking it apart must be a deliberate manual act.
 */
export function createUsersMigration(tableName: string): Migration {
  const table = sql.table(tableName);
  // to_regclass reads its argument as SQL, so the quotes keep the name's case and spelling.
  const quotedName = `"${tableName}"`;

  return {
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's Migration signature.
    async up(db: Kysely<any>) {
      await sql`
        create table if not exists ${table} (
          id serial primary key,
          username varchar not null unique,
          password varchar not null
        )`.execute(db);

      const { rows: columns } = await sql<{ name: string }>`
        select attname as name from pg_attribute
        where attrelid = to_regclass(${quotedName}) and attnum > 0 and not attisdropped`.execute(db);
      const missing = REQUIRED_COLUMNS.filter((name) => !columns.some((column) => column.name === name));
      if (missing.length > 0) {
        throw new Error(
          `table "${tableName}" exists but has no column ${missing.join(", ")}; it is not the original app's users table`,
        );
      }

      // The original SQLAlchemy model made `CREATE UNIQUE INDEX ix_users_username`; a second unique
      // index would only double the cost of every insert, so any plain unique index on the column counts.
      const { rows: unique } = await sql<{ found: boolean }>`
        select exists (
          select 1 from pg_index i
          join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
          where i.indrelid = to_regclass(${quotedName})
            and i.indisunique and i.indisvalid and i.indnkeyatts = 1
            and i.indpred is null and i.indexprs is null
            and a.attname = 'username'
        ) as found`.execute(db);
      if (!unique[0]?.found) {
        await sql`create unique index ${sql.id(`${tableName}_username_key`)} on ${table} (username)`.execute(db);
      }

      // now() is stable, so PostgreSQL stores the default once instead of rewriting a large table;
      // rows that predate Latchkey get the migration's time.
      await sql`
        alter table ${table}
          add column if not exists created_at timestamptz not null default now(),
          add column if not exists updated_at timestamptz not null default now()`.execute(db);
    },
  };
}
