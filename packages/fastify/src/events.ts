import type { FastifyRequest } from "fastify";
import { loggable } from "./errors.js";
import type { LatchkeyEventContext, LatchkeyHook } from "./types.js";

/** The request facts an event may carry: its id and the client address, nothing from the body. */
export function eventContext(request: FastifyRequest): LatchkeyEventContext {
  return { requestId: String(request.id), ip: request.ip };
}

/**
 * Calls an audit hook and waits for it. A hook that throws or rejects is logged (its error only)
 * and otherwise ignored: auditing must never turn a sign-up or a login into a failure.
 */
export async function emitEvent<Event>(
  request: FastifyRequest,
  name: string,
  hook: LatchkeyHook<Event> | undefined,
  event: Event,
): Promise<void> {
  if (hook === undefined) return;
  try {
    await hook(event);
  } catch (error) {
    request.log.error({ err: loggable(error), hook: name }, "latchkey: event hook failed; the response is unaffected");
  }
}
