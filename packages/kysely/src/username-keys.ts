import { type Kysely, sql } from "kysely";
import { resolveTableName, settingsTableName } from "./schema.js";

/** What a migrated users table holds of username keys; see {@link inspectUsernameKeys}. */
export interface UsernameKeysState {
  /** The key scheme the store last made keys under (e.g. `confusable:1`), or `undefined` if never. */
  scheme: string | undefined;
  /** Whether the table has no users at all. */
  empty: boolean;
}

/**
 * Reads which username key scheme a users table's keys were made under, and whether it has any
 * users, so an application can choose a default uniqueness policy: a new, empty table can take the
 * strictest; a table with users but no recorded scheme (the original app's, or Latchkey 0.1's)
 * must keep `exact`, since its names were only ever unique byte for byte. Run after
 * {@link migrateToLatest}.
 */
export async function inspectUsernameKeys(
  // biome-ignore lint/suspicious/noExplicitAny: accepts a Kysely instance typed for any app schema.
  db: Kysely<any>,
  options: { tableName?: string } = {},
): Promise<UsernameKeysState> {
  const table = resolveTableName(options.tableName);
  const { rows } = await sql<{ scheme: string | null; empty: boolean }>`
    select
      (select value from ${sql.table(settingsTableName(table))} where name = 'username_key_scheme') as scheme,
      not exists (select 1 from ${sql.table(table)}) as empty`.execute(db);
  return { scheme: rows[0]?.scheme ?? undefined, empty: rows[0]?.empty ?? true };
}
