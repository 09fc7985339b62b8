import type { FastifyReply, FastifyRequest } from "fastify";
import { LatchkeyVerifyError, TokenInvalidError } from "../errors.js";

/** The body of every refusal of `app.authenticate`. */
export interface RefusalBody {
  /** For people. A fixed sentence per code: never the token, never why exactly it failed. */
  detail: string;
  /** For programs: `NOT_AUTHENTICATED`, `TOKEN_INVALID`, `TOKEN_EXPIRED` or `KEYS_UNAVAILABLE`. */
  code: "NOT_AUTHENTICATED" | "TOKEN_INVALID" | "TOKEN_EXPIRED" | "KEYS_UNAVAILABLE";
}

// RFC 6750 section 3: a 401 names the scheme; section 3.1: `invalid_token` once a token was sent.
const PLAIN_CHALLENGE = "Bearer";
const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/** 401 with a plain challenge: the request had no bearer token at all. */
export function sendNotAuthenticated(reply: FastifyReply): FastifyReply {
  const body: RefusalBody = { detail: "Not authenticated", code: "NOT_AUTHENTICATED" };
  return reply.code(401).header("www-authenticate", PLAIN_CHALLENGE).send(body);
}

/**
 * Answers a failed verification: 401 for the token's faults, 503 with `Retry-After` when the keys
 * could not be fetched. The reason stays in the log; the client learns only the code.
 *
 * @throws the error itself when it is not one of ours: a bug, for Fastify's error handler.
 */
export function sendRefusal(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  retryAfterSeconds: number,
): FastifyReply {
  if (!(error instanceof LatchkeyVerifyError)) throw error;
  if (error.code === "KEYS_UNAVAILABLE") {
    request.log.warn({ err: error }, "latchkey: the issuer's keys are unavailable; answering 503");
    const body: RefusalBody = {
      detail: "The service is temporarily unavailable, please retry later",
      code: error.code,
    };
    return reply.code(503).header("retry-after", String(retryAfterSeconds)).send(body);
  }
  const problem = error instanceof TokenInvalidError ? error.problem : undefined;
  request.log.debug({ code: error.code, problem }, "latchkey: bearer token refused");
  const body: RefusalBody =
    error.code === "TOKEN_EXPIRED"
      ? { detail: "Could not validate credentials: the token has expired", code: "TOKEN_EXPIRED" }
      : { detail: "Could not validate credentials", code: "TOKEN_INVALID" };
  return reply.code(401).header("www-authenticate", INVALID_TOKEN_CHALLENGE).send(body);
}
