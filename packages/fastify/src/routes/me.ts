import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { createAuthenticate } from "../authenticate.js";
import type { ResolvedLatchkeyOptions } from "../options.js";
import { errorResponses, UserOutSchema } from "../schemas.js";

const schema = {
  summary: "The current user",
  description:
    "The user of the bearer token in `Authorization: Bearer <token>`. 401 with `WWW-Authenticate: Bearer` " +
    'without a token, and with `error="invalid_token"` (RFC 6750 section 3.1) for a bad, expired or orphaned one.',
  tags: ["auth"],
  response: {
    200: UserOutSchema,
    ...errorResponses(401, 500, 503),
  },
};

/** `GET /users/me`: the token's user, looked up in the store → `{username}`. */
export async function registerMeRoute(app: FastifyInstance, resolved: ResolvedLatchkeyOptions): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  // Always looks the user up, whatever `requireExistingUser` says: the answer is the stored user.
  const authenticate = createAuthenticate(resolved, true);
  const security = resolved.openApiSecurityScheme;
  const routeSchema = security === undefined ? schema : { ...schema, security: [{ [security]: [] }] };
  typed.get("/users/me", { schema: routeSchema, onRequest: authenticate }, async (request) => ({
    username: request.user.username,
  }));
}
