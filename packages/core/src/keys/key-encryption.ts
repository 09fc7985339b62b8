import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { InvalidOptionsError } from "../errors.js";

/**
 * Seals private keys at rest: AES-256-GCM under a key-encryption key (KEK) from the environment,
 * with the key's `kid` as additional authenticated data, so a sealed key copied onto another row
 * does not open. The database alone (a dump, a replica) never yields a private key.
 */
export interface KeyEncryption {
  seal(plaintext: string, kid: string): string;
  /** @throws {InvalidOptionsError} `INVALID_OPTIONS` when the KEK is not the one that sealed it. */
  open(sealed: string, kid: string): string;
}

const VERSION = "v1";

/**
 * Reads a KEK: 32 bytes as 64 hex characters, or as base64/base64url (`openssl rand -base64 32`).
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for anything that is not exactly 32 bytes.
 */
export function parseKeyEncryptionKey(text: string): Buffer {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, "hex")
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)
      ? Buffer.from(trimmed, "base64url")
      : undefined;
  if (bytes?.length !== 32) {
    throw new InvalidOptionsError(
      "The key-encryption key must be 32 bytes, as 64 hex characters or base64; generate one with: openssl rand -hex 32",
    );
  }
  return bytes;
}

export function createKeyEncryption(kek: Uint8Array): KeyEncryption {
  if (kek.byteLength !== 32) throw new InvalidOptionsError("The key-encryption key must be 32 bytes");
  const key = Buffer.from(kek);
  return {
    seal(plaintext, kid) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(Buffer.from(kid, "utf8"));
      const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}.${iv.toString("base64url")}.${sealed.toString("base64url")}`;
    },
    open(sealed, kid) {
      const [version, iv, body] = sealed.split(".");
      if (version !== VERSION || iv === undefined || body === undefined) {
        throw new InvalidOptionsError(`The private key of ${kid} is not sealed in a format this version reads`);
      }
      const bytes = Buffer.from(body, "base64url");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"))
          .setAAD(Buffer.from(kid, "utf8"))
          .setAuthTag(bytes.subarray(bytes.length - 16));
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString(
          "utf8",
        );
      } catch {
        throw new InvalidOptionsError(
          `The private key of ${kid} does not open with this key-encryption key (KEY_ENCRYPTION_KEY changed?)`,
        );
      }
    },
  };
}
