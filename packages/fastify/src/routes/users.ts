import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { registerUser } from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { emitEvent, eventContext } from "../events.js";
import { routeRateLimit } from "../limits/rate-limit.js";
import type { ResolvedLatchkeyOptions } from "../options.js";
import { errorResponses, UserInSchema, UserOutSchema } from "../schemas.js";
import { requireContentType } from "./content-type.js";

const schema = {
  summary: "Create a user",
  description:
    "Creates a user from a JSON body `{username, password}` (the original's `POST /users/`). " +
    "Unknown properties are ignored. The password is stored only as a bcrypt hash and never returned.",
  tags: ["auth"],
  consumes: ["application/json"],
  body: UserInSchema,
  response: {
    201: UserOutSchema,
    ...errorResponses(409, 413, 415, 422, 429, 500, 503),
  },
};

/**
 * `POST /users/` and `POST /users`: JSON `{username, password}` → 201 `{username}`.
 * 409 `USERNAME_TAKEN`, 422 for invalid input (with `field`), 415 for a body that is not JSON.
 */
export async function registerUserRoutes(app: FastifyInstance, resolved: ResolvedLatchkeyOptions): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { store, hasher, usernamePolicy, passwordPolicy, hooks } = resolved;
  const config = routeRateLimit(resolved.rateLimits.signUpPerAddress, "latchkey-sign-up");
  const routeOptions = {
    schema,
    bodyLimit: resolved.bodyLimit,
    onRequest: requireContentType("application/json"),
    ...(config !== undefined && { config }),
  };

  for (const url of ["/users/", "/users"]) {
    // A host with `ignoreTrailingSlash` already routes both spellings to the first one.
    if (app.hasRoute({ method: "POST", url: `${app.prefix}${url}` })) continue;
    typed.post(url, routeOptions, async (request, reply) => {
      const user = await registerUser(store, request.body.username, request.body.password, {
        hasher,
        usernamePolicy,
        passwordPolicy,
      });
      await emitEvent(request, "onUserCreated", hooks.onUserCreated, {
        ...eventContext(request),
        username: user.username,
        userId: user.id,
      });
      return reply.code(201).send({ username: user.username });
    });
  }
}
