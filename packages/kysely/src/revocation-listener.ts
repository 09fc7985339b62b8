import type { RevocationWatch } from "@latchkey/core";
import pg from "pg";

/** Listens on a channel: calls `onNotify` per notification, `onState` when the connection goes down or is back. */
export type RevocationListener = (
  channel: string,
  onNotify: () => void,
  onState: (listening: boolean) => void,
) => Promise<RevocationWatch>;

/** Options of {@link createPostgresRevocationListener}. */
export interface PostgresRevocationListenerOptions {
  /** Delay before reconnecting after the connection dropped, doubling up to `maxRetryDelayMs`. Default 250. */
  retryDelayMs?: number;
  /** Default 5000. */
  maxRetryDelayMs?: number;
  /** `application_name` of the connection. Default `"latchkey-listener"`. */
  applicationName?: string;
  /** Told about each failure to connect or of the connection (never the URL). */
  onError?: (error: Error) => void;
}

/**
 * A {@link RevocationListener} on one dedicated PostgreSQL connection (`LISTEN` needs a session
 * of its own, so `url` must reach PostgreSQL directly or through a session-pooling proxy: behind
 * PgBouncer's transaction pooling, give it a direct URL). It reconnects on its own, with backoff,
 * and tells the cache when it is down and back, so the cache reads what it may have missed.
 */
export function createPostgresRevocationListener(
  url: string,
  options: PostgresRevocationListenerOptions = {},
): RevocationListener {
  const firstDelay = options.retryDelayMs ?? 250;
  const maxDelay = options.maxRetryDelayMs ?? 5000;
  return async (channel, onNotify, onState) => {
    let client: pg.Client | undefined;
    let closed = false;
    let delay = firstDelay;
    let retry: NodeJS.Timeout | undefined;

    const scheduleReconnect = () => {
      if (closed || retry !== undefined) return;
      retry = setTimeout(() => {
        retry = undefined;
        void connect();
      }, delay);
      retry.unref();
      delay = Math.min(delay * 2, maxDelay);
    };

    const connect = async (): Promise<void> => {
      const next = new pg.Client({
        connectionString: url,
        application_name: options.applicationName ?? "latchkey-listener",
        // A half-open TCP connection must not look alive for minutes.
        keepAlive: true,
        keepAliveInitialDelayMillis: 1000,
        connectionTimeoutMillis: 5000,
      });
      let down = false;
      const lost = (error?: Error) => {
        if (down) return;
        down = true;
        if (error) options.onError?.(error);
        if (client === next) {
          client = undefined;
          onState(false);
        }
        next.end().catch(() => undefined);
        scheduleReconnect();
      };
      next.on("error", lost);
      next.on("end", () => lost());
      next.on("notification", () => onNotify());
      try {
        await next.connect();
        await next.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
      } catch (error) {
        lost(error as Error);
        return;
      }
      if (closed) {
        await next.end().catch(() => undefined);
        return;
      }
      client = next;
      delay = firstDelay;
      onState(true);
    };

    await connect();
    return {
      async close() {
        closed = true;
        if (retry !== undefined) clearTimeout(retry);
        const current = client;
        client = undefined;
        await current?.end().catch(() => undefined);
      },
    };
  };
}
