/**
 * A password hashing algorithm, as Latchkey uses it. The bcrypt hasher is the default;
 * implement this interface to plug in another algorithm (argon2, scrypt) without touching the rest.
 */
export interface PasswordHasher {
  /**
   * Hashes a password with a fresh salt.
   * @throws {PasswordTooLongError} `PASSWORD_TOO_LONG` if the algorithm cannot use the whole password.
   */
  hash(password: string): Promise<string>;
  /**
   * Whether `password` matches `hash`. Resolves to `false`, never rejects, for a wrong password,
   * a malformed hash or a hash of another algorithm.
   */
  verify(password: string, hash: string): Promise<boolean>;
  /** Whether `hash` is weaker than what {@link PasswordHasher.hash} makes now (e.g. a lower cost). */
  needsRehash(hash: string): boolean;
  /** Longest password, in UTF-8 bytes, the algorithm uses in full; `undefined` when unlimited. */
  readonly maxPasswordBytes?: number | undefined;
}

/** Size of a string in UTF-8 bytes: the unit bcrypt's 72-byte limit is counted in. */
export function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
