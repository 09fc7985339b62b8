import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { ResolvedLatchkeyOptions } from "../options.js";

const JwkSchema = Type.Object(
  {
    kty: Type.String(),
    kid: Type.String({ description: "RFC 7638 thumbprint of the key" }),
    alg: Type.String(),
    use: Type.Literal("sig"),
    key_ops: Type.Array(Type.String()),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
    n: Type.Optional(Type.String()),
    e: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const JwksSchema = Type.Object({ keys: Type.Array(JwkSchema) }, { additionalProperties: false });

const MetadataSchema = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  revocation_endpoint: Type.Optional(Type.String()),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Optional(Type.Array(Type.String())),
});

/** The issuer URL: the configured `issuer`, else this request's origin (then tokens carry no `iss` to pin). */
function issuerOf(request: FastifyRequest, resolved: ResolvedLatchkeyOptions): string {
  return resolved.tokens.options.issuer ?? `${request.protocol}://${request.host}`;
}

/**
 * `GET /.well-known/jwks.json` (every published public key: next, active and retiring; never an
 * HMAC key) and `GET /.well-known/oauth-authorization-server` (RFC 8414). At the root, whatever the
 * plugin's prefix: RFC 8615 puts well-known URIs there.
 */
export async function registerWellKnownRoutes(app: FastifyInstance, resolved: ResolvedLatchkeyOptions): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { keyring } = resolved;
  typed.get(
    "/.well-known/jwks.json",
    {
      schema: {
        summary: "Public signing keys (JWKS)",
        description:
          "RFC 7517 key set of every key that signs or verifies access tokens: the next key (published before it signs), " +
          "the active one and retiring ones. Cacheable for `max-age`; a revoked key leaves it at once. HMAC keys are never published.",
        tags: ["keys"],
        response: { 200: JwksSchema, 304: Type.Null({ description: "Not modified (If-None-Match)" }) },
      },
    },
    async (request, reply) => {
      const { keys, etag } = keyring?.jwks() ?? { keys: [], etag: '"empty"' };
      reply
        .header("cache-control", `public, max-age=${keyring?.jwksMaxAgeSeconds ?? 300}`)
        .header("etag", etag)
        .header("access-control-allow-origin", "*");
      if (request.headers["if-none-match"] === etag) return reply.code(304).send(null);
      return { keys };
    },
  );
  typed.get(
    "/.well-known/oauth-authorization-server",
    {
      schema: {
        summary: "Authorization server metadata (RFC 8414)",
        description:
          "Where the token, revocation and JWKS endpoints are, and what they support, for resource servers and OAuth clients.",
        tags: ["keys"],
        response: { 200: MetadataSchema },
      },
    },
    async (request, reply) => {
      const issuer = issuerOf(request, resolved);
      const base = `${issuer.replace(/\/$/, "")}${resolved.prefix}`;
      reply.header("cache-control", "public, max-age=3600").header("access-control-allow-origin", "*");
      return {
        issuer,
        token_endpoint: `${base}/token`,
        jwks_uri: `${issuer.replace(/\/$/, "")}/.well-known/jwks.json`,
        ...(resolved.access !== undefined && {
          revocation_endpoint: `${base}/revoke`,
          revocation_endpoint_auth_methods_supported: ["none"],
        }),
        grant_types_supported: resolved.sessions !== undefined ? ["password", "refresh_token"] : ["password"],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: ["none"],
      };
    },
  );
}
