/**
 * pino `redact` paths that keep Latchkey's secrets out of a host's logs. Latchkey never logs a
 * body or a header itself; these cover what hosts commonly add: request serializers that include
 * headers, and `request.log.info({ body })` calls. Use them as `Fastify({ logger: { redact: [...latchkeyRedactPaths] } })`.
 *
 * Covered: the `Authorization` header (bearer tokens), `password`, `current_password`,
 * `new_password`, `client_secret`, `access_token`, `refresh_token`, `token` and `passwordHash`
 * fields at the top level and one level down (`body.password`, `req.body.password`,
 * `user.passwordHash`, `res.body.access_token` …).
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
  "current_password",
  "*.current_password",
  "new_password",
  "*.new_password",
  "refresh_token",
  "*.refresh_token",
  "token",
  "*.token",
]);

// Query parameters whose values are credentials wherever they appear (OAuth's `access_token` in
// a URL, RFC 6750 section 2.3; reset codes; API keys), by any part of their name.
const SECRET_PARAMETER = /token|pass|secret|key|code|session|auth|jwt|sig|credential/i;
// A JWT anywhere in a URL, whatever the parameter is called.
const JWT_SHAPED = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;
const REDACTED = "[redacted]";

/**
 * A request URL as it may be logged: the value of every query parameter named like a credential
 * replaced, and anything shaped like a JWT replaced wherever it is. Path and other parameters stay.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf("?");
  if (queryStart === -1) return url.replace(JWT_SHAPED, REDACTED);
  const path = url.slice(0, queryStart).replace(JWT_SHAPED, REDACTED);
  const query = url
    .slice(queryStart + 1)
    .split("&")
    .map((pair) => {
      const equals = pair.indexOf("=");
      if (equals === -1) return pair.replace(JWT_SHAPED, REDACTED);
      const name = pair.slice(0, equals);
      let decodedName = name;
      try {
        decodedName = decodeURIComponent(name.replaceAll("+", " "));
      } catch {}
      return SECRET_PARAMETER.test(decodedName) ? `${name}=${REDACTED}` : pair.replace(JWT_SHAPED, REDACTED);
    })
    .join("&");
  return `${path}?${query}`;
}

/** An error as {@link latchkeySerializers} logs it: pino's standard fields, without the others. */
export interface LoggedError {
  [field: string]: unknown;
  type: string;
  message: string;
  stack: string;
  code?: string;
  statusCode?: number;
  cause?: LoggedError;
}

/** A request as {@link latchkeySerializers} logs it: Fastify's default fields. */
export interface LoggedRequest {
  [field: string]: unknown;
  method: string;
  url: string;
  version?: string;
  hostname?: string;
  remoteAddress?: string;
  remotePort?: number;
}

export interface LoggableRequest {
  method: string;
  url: string;
  version?: string | undefined;
  host?: string | undefined;
  hostname?: string | undefined;
  ip?: string | undefined;
  socket?: { remotePort?: number | undefined } | undefined;
}

/**
 * pino serializers for a Fastify logger that keep credentials out of every log level:
 *
 * - `req`: Fastify's default request fields, with the URL passed through {@link redactUrl}, so a
 *   `?access_token=` in a link is not written at `info`.
 * - `err`: type, message, stack and code only. Node's HTTP parser attaches the raw bytes it
 *   received to a client error (`rawPacket`), which Fastify logs at `trace`: a bearer token or a
 *   form password of a malformed request would be written out whole.
 *
 * Use them as `Fastify({ logger: { serializers: latchkeySerializers, redact: [...latchkeyRedactPaths] } })`.
 */
export const latchkeySerializers = Object.freeze({
  req(request: LoggableRequest): LoggedRequest {
    const logged: LoggedRequest = { method: request.method, url: redactUrl(request.url) };
    // Only the fields there are: Fastify's logger types take no `undefined` values.
    const hostname = request.host ?? request.hostname;
    if (request.version !== undefined) logged.version = request.version;
    if (hostname !== undefined) logged.hostname = hostname;
    if (request.ip !== undefined) logged.remoteAddress = request.ip;
    if (request.socket?.remotePort !== undefined) logged.remotePort = request.socket.remotePort;
    return logged;
  },
  err(error: unknown): LoggedError {
    if (!(error instanceof Error)) return { type: typeof error, message: String(error), stack: "" };
    const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
    const logged: LoggedError = { type: error.name, message: error.message, stack: error.stack ?? "" };
    if (typeof code === "string") logged.code = code;
    if (typeof statusCode === "number") logged.statusCode = statusCode;
    if (error.cause !== undefined) logged.cause = latchkeySerializers.err(error.cause);
    return logged;
  },
});
