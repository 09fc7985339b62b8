/**
 * The form a password is hashed in: Unicode NFKC, as NIST SP 800-63B (section 3.1.1.2) asks of
 * verifiers that accept Unicode. One password typed on keyboards, phones and password managers
 * that emit different forms (`é` as one code point or as `e` + U+0301, fullwidth digits) is then
 * one password. NFKC rather than NFKD: it keeps ASCII and composed text byte-for-byte as typed,
 * so almost every existing password is already in this form.
 */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

/**
 * What to compare against a stored hash, in order: the normalized password, then, when typing
 * it normalized changed it, the password exactly as typed, which is what hashes made before
 * normalization (by Latchkey 0.1 or another app) hold. Callers re-hash on a match of the second.
 */
export function passwordCandidates(password: string): [string] | [string, string] {
  const normalized = normalizePassword(password);
  return normalized === password ? [normalized] : [normalized, password];
}
