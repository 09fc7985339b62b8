import type { HmacAlgorithm } from "../tokens/secret.js";
import type { AsymmetricAlgorithm, PublicJwk } from "./key-material.js";

/** An algorithm a keyring key can have. */
export type KeyAlgorithm = AsymmetricAlgorithm | HmacAlgorithm;

/**
 * One key as the store keeps it. A key's state is not stored but follows from its times and its
 * place in the `generation` order, so every instance derives the same states from the same rows
 * at the same moment, with no scheduler to agree on (see `keyStates`).
 */
export interface StoredKey {
  /** RFC 7638 thumbprint of the public JWK (of the oct JWK for the HMAC key). */
  kid: string;
  alg: KeyAlgorithm;
  /** Unique and increasing: the order keys were added in. A later generation supersedes an earlier one once it activates. */
  generation: number;
  createdAt: Date;
  /** When it starts signing. Until then it is `next`: published, not signing. */
  activatesAt: Date;
  /** When it was revoked, or null. A revoked key is refused at once and never published again. */
  revokedAt: Date | null;
  /** The public key to publish; null for the HMAC key (never published). */
  publicJwk: PublicJwk | null;
  /**
   * The private key, sealed with the key-encryption key; null for the HMAC key, whose secret is the
   * service's `secret` (`SECRET_KEY`) and never stored.
   */
  sealedPrivateKey: string | null;
}

/** Where the keyring lives: a table in the user database (`@latchkey/kysely`), or memory in tests. */
export interface KeyStore {
  /** Every key, revoked ones included, in generation order. */
  listKeys(): Promise<StoredKey[]>;
  /**
   * Adds a key unless its generation is taken (another instance rotated at the same moment): then
   * nothing changes and it answers false, and the caller reads the keys again.
   */
  insertKey(key: StoredKey): Promise<boolean>;
  /** Marks a key revoked at `at` unless it already is; false when there is no such key. */
  revokeKey(kid: string, at: Date): Promise<boolean>;
  /**
   * Optional: calls `onChange` soon after any instance changes the keys (PostgreSQL NOTIFY), so a
   * revocation is enforced at once everywhere. Resolves to a function that stops watching.
   */
  watchKeys?(onChange: () => void): Promise<() => Promise<void>>;
}
