import type { FastifyRequest } from "fastify";
import { UnsupportedMediaTypeError } from "../errors.js";

/**
 * An `onRequest` hook refusing, with 415 `UNSUPPORTED_MEDIA_TYPE`, any request whose Content-Type
 * is not `mediaType` (parameters such as `charset` allowed). It runs before the body is read, so
 * a JSON body never reaches the form route's parser and a form never reaches the JSON route's.
 */
export function requireContentType(mediaType: string): (request: FastifyRequest) => Promise<void> {
  return async function requireMediaType(request) {
    const essence = request.headers["content-type"]?.split(";", 1)[0]?.trim().toLowerCase();
    if (essence !== mediaType) throw new UnsupportedMediaTypeError(mediaType);
  };
}
