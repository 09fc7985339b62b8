/**
 * pino `redact` paths that keep Latchkey's secrets out of a host's logs. Latchkey never logs a
 * body or a header itself; these cover what hosts commonly add: request serializers that include
 * headers, and `request.log.info({ body })` calls. Use them as `Fastify({ logger: { redact: [...latchkeyRedactPaths] } })`.
 *
 * Covered: the `Authorization` header (bearer tokens), `password`, `client_secret`,
 * `access_token` and `passwordHash` fields at the top level and one level down (`body.password`,
 * `req.body.password`, `user.passwordHash`, `res.body.access_token` …).
 */
export const latchkeyRedactPaths: readonly string[] = Object.freeze([
  "req.headers.authorization",
  "request.headers.authorization",
  "headers.authorization",
  "req.body.password",
  "req.body.client_secret",
  "res.body.access_token",
  "password",
  "*.password",
  "client_secret",
  "*.client_secret",
  "access_token",
  "*.access_token",
  "passwordHash",
  "*.passwordHash",
]);
