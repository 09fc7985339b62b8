import { authenticateUser, InvalidCredentialsError, type StoredUser } from "@latchkey/core";
import type { FastifyRequest } from "fastify";
import { loggable } from "../errors.js";
import { emitEvent, eventContext } from "../events.js";
import { createLoginFailureGuard } from "../limits/rate-limit.js";
import type { ResolvedLatchkeyOptions } from "../options.js";

/**
 * Checks a username and password as a login does, with the same costs and limits: the failed-login
 * budget of the username (shared with `POST /token`), bcrypt work and failure timing for unknown
 * users too, `onLoginFailed` on a wrong password.
 */
export function createPasswordCheck(resolved: ResolvedLatchkeyOptions) {
  const { store, hasher, usernamePolicy, hooks } = resolved;
  const guard = createLoginFailureGuard(resolved.rateLimits, usernamePolicy.uniqueness);
  return {
    guard,
    /**
     * The user, once the password matched. `takeAttempt` false: the caller already counted it.
     * @throws {InvalidCredentialsError} `INVALID_CREDENTIALS` for a wrong password or unknown user.
     */
    async verify(request: FastifyRequest, username: string, password: string, takeAttempt = true): Promise<StoredUser> {
      if (takeAttempt) await guard.take(username);
      let user: StoredUser | null;
      try {
        user = await authenticateUser(store, username, password, {
          hasher,
          usernamePolicy,
          onRehashError: (error) =>
            request.log.warn({ err: loggable(error) }, "latchkey: upgrading a password hash failed"),
        });
      } catch (error) {
        // No verdict (store down, hashing overloaded): the attempt guessed nothing.
        await guard.giveBack(username);
        throw error;
      }
      if (user === null) {
        await emitEvent(request, "onLoginFailed", hooks.onLoginFailed, {
          ...eventContext(request),
          username,
          reason: "INVALID_CREDENTIALS",
        });
        throw new InvalidCredentialsError();
      }
      await guard.clear(username);
      return user;
    },
  };
}
