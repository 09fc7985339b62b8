import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Refresh tokens are opaque strings `lkr1.<base64url>`, where the bytes are
 *
 *     session id (16, a UUID) ‖ generation (unsigned LEB128) ‖ tag (16) ‖ checksum (4)
 *
 * - **tag** = HMAC-SHA256(refresh key, "lkr1" ‖ session id ‖ session salt ‖ generation)[:16]. The
 *   refresh key lives with the server (derived from its secret); the salt, 16 random bytes per
 *   session, lives in the database. Minting a token takes both, so neither a database dump nor the
 *   key alone is enough. Nothing per token is stored, and the current token of a session can be
 *   derived again byte for byte, which is what the reuse window answers with.
 * - **checksum** = SHA-256 of the bytes before it, first 4 bytes: a string that is not one of ours
 *   is refused without a database read.
 */
export const REFRESH_TOKEN_PREFIX = "lkr1.";

const ID_BYTES = 16;
const TAG_BYTES = 16;
const CHECKSUM_BYTES = 4;
/** Longest token accepted for parsing: a 64-bit generation takes 10 LEB128 bytes. */
const MAX_TOKEN_LENGTH =
  REFRESH_TOKEN_PREFIX.length + Math.ceil(((ID_BYTES + 10 + TAG_BYTES + CHECKSUM_BYTES) * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** What a well-formed refresh token names; its tag is checked against the session later. */
export interface ParsedRefreshToken {
  sessionId: string;
  generation: number;
  tag: Buffer;
}

function encodeGeneration(generation: number): Buffer {
  const bytes: number[] = [];
  let value = generation;
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return Buffer.from(bytes);
}

/** Reads an unsigned LEB128 number; `undefined` when it does not end or exceeds 2^53. */
function decodeGeneration(bytes: Buffer, start: number): { value: number; end: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let index = start; index < bytes.length && index < start + 8; index += 1) {
    const byte = bytes[index] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return Number.isSafeInteger(value) ? { value, end: index + 1 } : undefined;
    scale *= 128;
  }
  return undefined;
}

function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll("-", ""), "hex");
}

function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function checksum(bytes: Buffer): Buffer {
  return createHash("sha256").update(bytes).digest().subarray(0, CHECKSUM_BYTES);
}

/** The tag binding a generation of a session to the server's key and the session's salt. */
export function refreshTokenTag(key: Uint8Array, sessionId: string, salt: Uint8Array, generation: number): Buffer {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(generation));
  return createHmac("sha256", key)
    .update("lkr1")
    .update(uuidToBytes(sessionId))
    .update(salt)
    .update(counter)
    .digest()
    .subarray(0, TAG_BYTES);
}

/** The refresh token of `generation` of a session: always the same string for the same inputs. */
export function encodeRefreshToken(key: Uint8Array, sessionId: string, salt: Uint8Array, generation: number): string {
  const body = Buffer.concat([
    uuidToBytes(sessionId),
    encodeGeneration(generation),
    refreshTokenTag(key, sessionId, salt, generation),
  ]);
  return REFRESH_TOKEN_PREFIX + Buffer.concat([body, checksum(body)]).toString("base64url");
}

/**
 * Reads a refresh token's session and generation, or `undefined` for anything that is not a
 * well-formed token of this format (wrong prefix, size, alphabet or checksum): no database is
 * asked about such a string.
 */
export function parseRefreshToken(token: unknown): ParsedRefreshToken | undefined {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH || !token.startsWith(REFRESH_TOKEN_PREFIX)) {
    return undefined;
  }
  const encoded = token.slice(REFRESH_TOKEN_PREFIX.length);
  if (!BASE64URL.test(encoded)) return undefined;
  const bytes = Buffer.from(encoded, "base64url");
  if (bytes.toString("base64url") !== encoded || bytes.length < ID_BYTES + 1 + TAG_BYTES + CHECKSUM_BYTES) {
    return undefined;
  }
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  if (!timingSafeEqual(checksum(body), bytes.subarray(body.length))) return undefined;
  const generation = decodeGeneration(body, ID_BYTES);
  if (generation === undefined || body.length - generation.end !== TAG_BYTES) return undefined;
  return {
    sessionId: bytesToUuid(body.subarray(0, ID_BYTES)),
    generation: generation.value,
    tag: body.subarray(generation.end),
  };
}

/** Whether a parsed token's tag is the one the server made for it (constant time). */
export function hasValidTag(parsed: ParsedRefreshToken, key: Uint8Array, salt: Uint8Array): boolean {
  return timingSafeEqual(parsed.tag, refreshTokenTag(key, parsed.sessionId, salt, parsed.generation));
}
