import type { FastifyRequest } from "fastify";
import { emitEvent, eventContext } from "../events.js";
import type { ResolvedLatchkeyOptions } from "../options.js";
import type { SessionEndedEvent } from "../types.js";

/** Logs and announces (`onSessionEnded`) each session a request ended. */
export async function announceEndedSessions(
  request: FastifyRequest,
  resolved: ResolvedLatchkeyOptions,
  username: string,
  sessionIds: readonly string[],
  reason: SessionEndedEvent["reason"],
): Promise<void> {
  if (sessionIds.length === 0) return;
  request.log.info({ sessionIds, reason }, "latchkey: sessions ended");
  for (const sessionId of sessionIds) {
    await emitEvent(request, "onSessionEnded", resolved.hooks.onSessionEnded, {
      ...eventContext(request),
      sessionId,
      username,
      reason,
    });
  }
}

/** The OpenAPI `security` of a route that needs a bearer token, when the host named its scheme. */
export function withSecurity<Schema extends object>(resolved: ResolvedLatchkeyOptions, schema: Schema): Schema {
  const security = resolved.openApiSecurityScheme;
  return security === undefined ? schema : { ...schema, security: [{ [security]: [] }] };
}
