import type { KeyAlgorithm, KeyStore, PublicJwk, StoredKey } from "@latchkey/core";
import { type Kysely, type Selectable, sql } from "kysely";
import { isUniqueViolation, type StoreOperation, toStoreError } from "./errors.js";
import type { RevocationListener } from "./revocation-listener.js";
import { resolveTableName, type SigningKeysTable, signingKeysTableName } from "./schema.js";

interface KeysDatabase {
  keys: SigningKeysTable;
}

/** Options of {@link createKyselyKeyStore}. */
export interface KyselyKeyStoreOptions {
  /** The users table the keyring belongs to (as given to `migrateToLatest`). Default `"users"`. */
  tableName?: string;
  /**
   * Tells every instance of a change at once through `LISTEN/NOTIFY` (the revocation listener works
   * here too); without it, instances see changes at their next periodic read.
   */
  listener?: RevocationListener;
}

function toStoredKey(row: Selectable<SigningKeysTable>): StoredKey {
  return {
    kid: row.kid,
    alg: row.alg as KeyAlgorithm,
    generation: Number(row.generation),
    createdAt: row.created_at,
    activatesAt: row.activates_at,
    revokedAt: row.revoked_at,
    publicJwk: row.public_jwk === null ? null : (JSON.parse(row.public_jwk) as PublicJwk),
    sealedPrivateKey: row.sealed_private_key,
  };
}

/** A {@link KeyStore} on PostgreSQL or PGlite in `latchkey_<table>_signing_keys` (made by `migrateToLatest`). */
export function createKyselyKeyStore(
  // biome-ignore lint/suspicious/noExplicitAny: accepts a Kysely instance typed for any app schema.
  db: Kysely<any>,
  options: KyselyKeyStoreOptions = {},
): KeyStore {
  const table = signingKeysTableName(resolveTableName(options.tableName)) as "keys";
  const channel = table;
  const keys = db as Kysely<KeysDatabase>;

  async function run<T>(operation: StoreOperation, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }

  return {
    listKeys: () =>
      run("listKeys", async () =>
        (await keys.selectFrom(table).selectAll().orderBy("generation").execute()).map(toStoredKey),
      ),
    insertKey: (key) =>
      run("insertKey", async () => {
        try {
          await keys.transaction().execute(async (trx) => {
            await trx
              .insertInto(table)
              .values({
                kid: key.kid,
                alg: key.alg,
                generation: key.generation,
                created_at: key.createdAt,
                activates_at: key.activatesAt,
                revoked_at: key.revokedAt,
                public_jwk: key.publicJwk === null ? null : JSON.stringify(key.publicJwk),
                sealed_private_key: key.sealedPrivateKey,
              })
              .execute();
            await sql`select pg_notify(${channel}, '')`.execute(trx);
          });
          return true;
        } catch (error) {
          // Another instance took this generation (or added this very key): it reads again.
          if (isUniqueViolation(error)) return false;
          throw error;
        }
      }),
    revokeKey: (kid, at) =>
      run("revokeKey", () =>
        keys.transaction().execute(async (trx) => {
          // One statement finds and revokes; a key revoked before keeps its first time.
          const found = await trx
            .updateTable(table)
            .set({ revoked_at: sql`coalesce(revoked_at, ${at})` })
            .where("kid", "=", kid)
            .returning("kid")
            .executeTakeFirst();
          if (found === undefined) return false;
          await sql`select pg_notify(${channel}, '')`.execute(trx);
          return true;
        }),
      ),
    ...(options.listener !== undefined && {
      watchKeys: async (onChange: () => void) => {
        const watch = await (options.listener as RevocationListener)(channel, onChange, (listening) => {
          // Back after an outage: read what may have changed meanwhile.
          if (listening) onChange();
        });
        return () => watch.close();
      },
    }),
  };
}
