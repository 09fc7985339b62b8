import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { VerifiedAccessToken } from "../claims.js";
import { InvalidOptionsError } from "../errors.js";
import type { LatchkeyVerifierOptions } from "../options.js";
import { createLatchkeyVerifier } from "../verifier.js";
import { readBearerToken } from "./bearer.js";
import { sendNotAuthenticated, sendRefusal } from "./replies.js";

/** What `request.user` holds once `app.authenticate` accepted the request's bearer token. */
export type LatchkeyUser = VerifiedAccessToken;

/** `app.authenticate`: an `onRequest` or `preHandler` hook. It answers refusals itself. */
export type AuthenticateHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** Options of the {@link latchkeyVerify} plugin: the verifier's, and the 503's `Retry-After`. */
export interface LatchkeyVerifyPluginOptions extends LatchkeyVerifierOptions {
  /** Seconds put in `Retry-After` when the JWKS cannot be fetched (503). Default 5. */
  retryAfterSeconds?: number;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Verifies the bearer token; on success sets `request.user`, otherwise answers 401 or 503. */
    authenticate: AuthenticateHook;
  }
  interface FastifyRequest {
    /** Set by `app.authenticate`; only meaningful on routes that run it. */
    user: LatchkeyUser;
  }
}

// Fastify hands its own `register` options to the plugin along with ours.
const REGISTER_OPTIONS = ["prefix", "logLevel", "logSerializers"];

async function plugin(app: FastifyInstance, options: LatchkeyVerifyPluginOptions): Promise<void> {
  const { retryAfterSeconds = 5, ...rest } = options;
  if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
    throw new InvalidOptionsError("retryAfterSeconds must be an integer ≥ 0");
  }
  const verifierOptions: Record<string, unknown> = { ...rest };
  for (const name of REGISTER_OPTIONS) delete verifierOptions[name];
  const verifier = createLatchkeyVerifier(verifierOptions as unknown as LatchkeyVerifierOptions);

  app.decorateRequest("user", null as unknown as LatchkeyUser);
  app.decorate("authenticate", async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    try {
      const token = readBearerToken(request.headers.authorization);
      if (token === undefined) {
        sendNotAuthenticated(reply);
        return;
      }
      request.user = await verifier.verify(token);
    } catch (error) {
      sendRefusal(request, reply, error, retryAfterSeconds);
    }
  } satisfies AuthenticateHook);
}

/**
 * The Fastify 5 plugin: `app.register(latchkeyVerify, { issuer })`, then
 * `{ onRequest: [app.authenticate] }` on the routes to protect.
 */
export const latchkeyVerify = fp(plugin, { fastify: "5.x", name: "@latchkey/verify" });
