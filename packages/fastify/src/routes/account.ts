import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { hashPassword, InvalidCredentialsError, type StoredUser, TokenInvalidError } from "@latchkey/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { createAuthenticate } from "../authenticate.js";
import { emitEvent, eventContext } from "../events.js";
import type { ResolvedLatchkeyOptions } from "../options.js";
import { AccountDeletionSchema, errorResponses, PasswordChangeSchema, TokenOutSchema } from "../schemas.js";
import { requireContentType } from "./content-type.js";
import { announceEndedSessions, withSecurity } from "./ended-sessions.js";
import { createPasswordCheck } from "./password-check.js";
import { MAX_USER_AGENT_LENGTH } from "./token.js";
import { tokenResponse } from "./token-response.js";

const accountErrors = errorResponses(401, 413, 415, 422, 429, 500, 503);

const passwordSchema = {
  summary: "Change the password",
  description:
    "JSON `{current_password, new_password}` with the bearer token. The new password follows the sign-up policy " +
    "(422). A wrong current password is a 401 like a wrong login, costs the same bcrypt work and counts against the " +
    "username's failed-login limit. In one transaction the hash is replaced and every session of the user ends; " +
    "every older access token stops working (within seconds on every instance, with `accessTokenChecks` `session` " +
    "or `strict`). Answers fresh tokens, for a new session when sessions are on.",
  tags: ["account"],
  consumes: ["application/json"],
  body: PasswordChangeSchema,
  response: { 200: TokenOutSchema, ...accountErrors },
};

const deletionSchema = {
  summary: "Delete the account",
  description:
    "JSON `{password}` with the bearer token: deletes the user and every session; their tokens stop working at " +
    "once (with `accessTokenChecks` `session` or `strict`), and a user who signs up later under the same name is " +
    "never opened by them. A wrong password is a 401 like a wrong login. 204.",
  tags: ["account"],
  consumes: ["application/json"],
  body: AccountDeletionSchema,
  response: { 204: { type: "null", description: "Deleted." }, ...accountErrors },
};

const loginOf = (request: FastifyRequest) => ({
  ip: request.ip,
  userAgent: request.headers["user-agent"]?.slice(0, MAX_USER_AGENT_LENGTH),
});

/** The checked user, if it is the account the token was issued to (see `uid`). */
function sameAccount(request: FastifyRequest, user: StoredUser): StoredUser {
  const { uid } = request.user.claims;
  if (uid !== undefined && uid !== user.id) {
    throw new TokenInvalidError("claim_value", "Token is invalid (its user no longer exists)");
  }
  return user;
}

/** `POST /users/me/password` and `DELETE /users/me`. */
export async function registerAccountRoutes(app: FastifyInstance, resolved: ResolvedLatchkeyOptions): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { store, hasher, passwordPolicy, access, hooks } = resolved;
  const passwordCheck = createPasswordCheck(resolved);
  const routeOptions = {
    bodyLimit: resolved.bodyLimit,
    onRequest: [createAuthenticate(resolved, false), requireContentType("application/json")],
  };

  typed.post(
    "/users/me/password",
    { ...routeOptions, schema: withSecurity(resolved, passwordSchema) },
    async (request, reply) => {
      const { current_password: current, new_password: next } = request.body;
      // Policy first: a refused new password costs no bcrypt work and changes nothing.
      const newHash = hashPassword(next, { hasher, ...passwordPolicy });
      newHash.catch(() => undefined);
      const user = sameAccount(request, await passwordCheck.verify(request, request.user.username, current));
      const to = await newHash;
      let endedSessionIds: readonly string[] = [];
      let issued: Awaited<ReturnType<NonNullable<typeof access>["changePassword"]>> = null;
      if (access === undefined) {
        if (!(await store.updatePasswordHash(user.username, to, { ifCurrentHash: user.passwordHash }))) {
          throw new InvalidCredentialsError();
        }
      } else {
        issued = await access.changePassword(user, { from: user.passwordHash, to }, loginOf(request));
        // The hash changed between the check and the write: the current password is no longer it.
        if (issued === null) throw new InvalidCredentialsError();
        endedSessionIds = issued.ended.endedSessionIds;
      }
      await announceEndedSessions(request, resolved, user.username, endedSessionIds, "password_change");
      await emitEvent(request, "onPasswordChange", hooks.onPasswordChange, {
        ...eventContext(request),
        username: user.username,
        userId: user.id,
        endedSessionIds,
        sessionId: issued?.issued?.session.id,
      });
      return tokenResponse(resolved, reply, user, issued?.issued ?? undefined);
    },
  );

  typed.delete(
    "/users/me",
    { ...routeOptions, schema: withSecurity(resolved, deletionSchema) },
    async (request, reply) => {
      const user = sameAccount(
        request,
        await passwordCheck.verify(request, request.user.username, request.body.password),
      );
      let endedSessionIds: readonly string[] = [];
      if (access === undefined) {
        if (!(await store.deleteByUsername(user.username))) throw new InvalidCredentialsError();
      } else {
        const ended = await access.deleteUser(user);
        if (ended === null) throw new InvalidCredentialsError();
        endedSessionIds = ended.endedSessionIds;
      }
      request.log.info({ userId: user.id }, "latchkey: user deleted");
      await announceEndedSessions(request, resolved, user.username, endedSessionIds, "user_deleted");
      await emitEvent(request, "onUserDeleted", hooks.onUserDeleted, {
        ...eventContext(request),
        username: user.username,
        userId: user.id,
        endedSessionIds,
      });
      return reply.code(204).send();
    },
  );
}
