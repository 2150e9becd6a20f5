/**
 * Whether the Socket Mode connection to Slack is up, for /readyz: a replica whose WebSocket is down
 * receives no commands, so it should not count as ready. Listens to the SocketModeClient's state events.
 */

/** The part of an EventEmitter used (the SocketModeClient is one). */
export interface ConnectionEvents {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

export function trackSocketModeConnection(client: ConnectionEvents): () => boolean {
  let connected = false;
  client.on('connected', () => {
    connected = true;
  });
  // 'close' is the socket itself going away: the client waits before 'reconnecting', and without it
  // readiness would still say connected during that pause.
  for (const event of ['close', 'connecting', 'reconnecting', 'disconnecting', 'disconnected']) {
    client.on(event, () => {
      connected = false;
    });
  }
  return () => connected;
}

/**
 * The same state, usable before the client exists: routes (readiness) are built before Bolt's
 * receiver, which needs them; the receiver's client is followed once it is made.
 */
export function socketModeConnection(): { connected: () => boolean; follow(client: ConnectionEvents): void } {
  let current: () => boolean = () => false;
  return {
    connected: () => current(),
    follow(client) {
      current = trackSocketModeConnection(client);
    },
  };
}
