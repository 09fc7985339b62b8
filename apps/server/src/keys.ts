import { createKeyEncryption, createKeyring, isAsymmetricAlgorithm, type Keyring } from "@latchkey/core";
import type { LatchkeyKeyOptions } from "@latchkey/fastify";
import type { ServerConfig } from "./config.js";
import type { Database } from "./database.js";
import { resolveKeyEncryptionKey } from "./secret-key.js";

/**
 * The keyring settings of the server and of `latchkey keys`, from one place so both agree:
 * TOKEN_ALGORITHM when set; else RS256 for a new database and the HMAC SECRET_KEY (HS256, as
 * before) for one that already has users, so a taken-over install changes nothing until rotated.
 */
export async function resolveKeyOptions(
  config: ServerConfig,
  database: Database,
): Promise<LatchkeyKeyOptions & { generatedKekFile?: string }> {
  const { keys } = config;
  const kek = await resolveKeyEncryptionKey(keys.keyEncryptionKey, config.dataDir, config.production);
  const initialAlgorithm = keys.algorithm ?? (database.hadUsers ? "HS256" : "RS256");
  return {
    store: database.keyStore,
    ...(kek.key !== undefined && { encryption: createKeyEncryption(kek.key) }),
    // Rotation adds asymmetric keys: the configured one, else RS256.
    algorithm: isAsymmetricAlgorithm(keys.algorithm) ? keys.algorithm : "RS256",
    initialAlgorithm,
    ...(keys.rotationDays !== undefined && { rotateEverySeconds: keys.rotationDays * 86_400 }),
    jwksMaxAgeSeconds: keys.jwksMaxAgeSeconds,
    ...(kek.generatedFile !== undefined && { generatedKekFile: kek.generatedFile }),
  };
}

/** A keyring on the server's database for the admin CLI (not started: no timers, no watching). */
export async function openKeyring(config: ServerConfig, database: Database, secretKey: string): Promise<Keyring> {
  const { generatedKekFile: _file, ...options } = await resolveKeyOptions(config, database);
  return createKeyring({
    ...options,
    secret: secretKey,
    tokenLifetimeSeconds: config.accessTokenExpireMinutes * 60,
  });
}
