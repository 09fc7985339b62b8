import type { Server } from "node:http";
import type { Socket } from "node:net";
import { addressGroup } from "@latchkey/fastify";
import type { FastifyBaseLogger } from "fastify";
import type { ConnectionSettings } from "./config.js";

/** Node checks request and head timeouts this often (its default, 30 s, would let them overrun by that much). */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** At most one warning per this many ms about refused connections, however many are refused. */
const WARNING_INTERVAL_MS = 10_000;

/**
 * Caps the open connections of `server`: `maxConnections` in all (Node closes the ones beyond),
 * and `maxConnectionsPerAddress` per client address group (IPv6 per /64), so one client holding
 * connections open (slowly, or just idle) cannot take every file descriptor from everyone else.
 * Peers that `isTrustedProxy` accepts are not capped per address: behind a load balancer every
 * connection comes from it.
 *
 * A connection over a cap is closed at once, before a byte is read. Refusals are logged at most
 * once every 10 s, with their count.
 */
export function limitConnections(
  server: Server,
  settings: Pick<ConnectionSettings, "maxConnections" | "maxConnectionsPerAddress">,
  isTrustedProxy: (address: string) => boolean,
  log: FastifyBaseLogger,
): void {
  server.maxConnections = settings.maxConnections;
  const open = new Map<string, number>();
  let refused = { perAddress: 0, total: 0 };
  let lastWarning = 0;

  const warn = () => {
    const now = Date.now();
    if (now - lastWarning < WARNING_INTERVAL_MS) return;
    lastWarning = now;
    log.warn(
      { refusedPerAddress: refused.perAddress, refusedTotal: refused.total, ...settings },
      "connections refused: a connection cap was reached (MAX_CONNECTIONS_PER_ADDRESS, MAX_CONNECTIONS)",
    );
    refused = { perAddress: 0, total: 0 };
  };

  // Node emits "drop" for the connections it closes over maxConnections.
  server.on("drop", () => {
    refused.total += 1;
    warn();
  });

  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || isTrustedProxy(address)) return;
    const group = addressGroup(address);
    const count = (open.get(group) ?? 0) + 1;
    if (count > settings.maxConnectionsPerAddress) {
      refused.perAddress += 1;
      socket.destroy();
      warn();
      return;
    }
    open.set(group, count);
    socket.once("close", () => {
      const left = (open.get(group) ?? 1) - 1;
      if (left === 0) open.delete(group);
      else open.set(group, left);
    });
  });
}
