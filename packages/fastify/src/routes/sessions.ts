import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { AccessControl, SessionService } from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { createAuthenticate, findTokenUser } from "../authenticate.js";
import { SessionNotFoundError } from "../errors.js";
import type { ResolvedLatchkeyOptions } from "../options.js";
import { errorResponses, SessionListSchema } from "../schemas.js";
import { announceEndedSessions, withSecurity } from "./ended-sessions.js";

const listSchema = {
  summary: "The user's sessions",
  description: "Every live session (login) of the bearer token's user, newest first; `current` marks the token's own.",
  tags: ["sessions"],
  response: { 200: SessionListSchema, ...errorResponses(401, 500, 503) },
};

const endSchema = {
  summary: "End one of the user's sessions",
  description:
    "Ends the session: its refresh token stops working at once, its access tokens within seconds. 404 for an id " +
    "that is not one of this user's live sessions (another user's included: never ended, never confirmed). 204.",
  tags: ["sessions"],
  params: Type.Object({ id: Type.String({ description: "The session id, from the list." }) }),
  response: { 204: { type: "null", description: "Ended." }, ...errorResponses(401, 404, 500, 503) },
};

/** `GET /users/me/sessions` and `DELETE /users/me/sessions/{id}`. */
export async function registerSessionRoutes(
  app: FastifyInstance,
  resolved: ResolvedLatchkeyOptions,
  sessions: SessionService,
  access: AccessControl,
): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const authenticate = createAuthenticate(resolved, false);

  typed.get(
    "/users/me/sessions",
    { schema: withSecurity(resolved, listSchema), onRequest: authenticate },
    async (request) => {
      const user = await findTokenUser(resolved, request.user.claims);
      const live = await sessions.list(user.id);
      return {
        sessions: live.map((session) => ({
          id: session.id,
          created_at: session.createdAt.toISOString(),
          last_used_at: session.lastUsedAt.toISOString(),
          ip: session.ip,
          user_agent: session.userAgent,
          current: session.id === request.user.claims.sid,
        })),
      };
    },
  );

  typed.delete(
    "/users/me/sessions/:id",
    { schema: withSecurity(resolved, endSchema), onRequest: authenticate },
    async (request, reply) => {
      const user = await findTokenUser(resolved, request.user.claims);
      if (!(await access.endSession(user.id, request.params.id))) throw new SessionNotFoundError();
      await announceEndedSessions(request, resolved, user.username, [request.params.id], "ended");
      return reply.code(204).send();
    },
  );
}
