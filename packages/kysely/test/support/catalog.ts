import { sql } from "kysely";
import type { AnyKysely } from "./backends.js";

/** A column of a table in the current schema, as the catalog describes it. */
export interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

/** The table's columns in the current schema, in order. */
export async function columnsOf(db: AnyKysely, tableName: string): Promise<ColumnInfo[]> {
  const { rows } = await sql<ColumnInfo>`
    select column_name as name, data_type as type, is_nullable = 'YES' as nullable, column_default as default
    from information_schema.columns
    where table_schema = current_schema() and table_name = ${tableName}
    order by ordinal_position`.execute(db);
  return rows;
}

/** Names of the unique indexes whose only key is `username`, in the current schema. */
export async function usernameUniqueIndexes(db: AnyKysely, tableName: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name
    from pg_index i
    join pg_class c on c.oid = i.indexrelid
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = to_regclass(${`"${tableName}"`})
      and i.indisunique and i.indnkeyatts = 1 and a.attname = 'username'
    order by 1`.execute(db);
  return rows.map((row) => row.name);
}

/** Whether a table of that name exists in the current schema. */
export async function tableExists(db: AnyKysely, tableName: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    select exists (
      select 1 from information_schema.tables where table_schema = current_schema() and table_name = ${tableName}
    ) as found`.execute(db);
  return rows[0]?.found === true;
}
