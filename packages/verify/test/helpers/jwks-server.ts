import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JWK } from "jose";

/** Replaces the normal JWKS answer, to play an issuer that is broken in some way. */
export type Misbehaviour = (response: ServerResponse) => void;

/** A stand-in for the Latchkey server's `GET /.well-known/jwks.json`, on 127.0.0.1. */
export interface JwksServer {
  /** The issuer URL, `http://127.0.0.1:<port>` (no trailing slash, as Latchkey puts it in `iss`). */
  issuer: string;
  /** How many times the JWKS has been requested. */
  readonly requests: number;
  /** The headers of the last JWKS request. */
  readonly lastHeaders: IncomingHttpHeaders | undefined;
  /** The published keys; change it to rotate. */
  keys: JWK[];
  /** Set to make the server misbehave; `undefined` restores normal answers. */
  misbehave: Misbehaviour | undefined;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let requests = 0;
  let lastHeaders: IncomingHttpHeaders | undefined;
  const state: Pick<JwksServer, "keys" | "misbehave"> = { keys, misbehave: undefined };
  // The handle below reads and writes `state`; the request handler reads it per request.
  const server = createServer((request, response) => {
    if (request.method !== "GET" || request.url !== "/.well-known/jwks.json") {
      response.writeHead(404).end();
      return;
    }
    requests += 1;
    lastHeaders = request.headers;
    if (state.misbehave) {
      state.misbehave(response);
      return;
    }
    const body = JSON.stringify({ keys: state.keys });
    response.writeHead(200, {
      "content-type": "application/json",
      "cache-control": "public, max-age=300",
      etag: `"${body.length}"`,
    });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    issuer: `http://127.0.0.1:${port}`,
    get keys() {
      return state.keys;
    },
    set keys(value) {
      state.keys = value;
    },
    get misbehave() {
      return state.misbehave;
    },
    set misbehave(value) {
      state.misbehave = value;
    },
    get requests() {
      return requests;
    },
    get lastHeaders() {
      return lastHeaders;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // A "hanging" misbehaviour keeps its socket open; close() alone would wait for it forever.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An address nothing listens on: connections are refused, as when the issuer is down. */
export async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
