import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** The app-level token the fake accepts unless told otherwise (apps.connections.open refuses others). */
export const DEFAULT_APP_TOKEN = 'xapp-1-A0001-1-fake-app-level-token';

/**
 * Slack's Socket Mode, server side, on loopback: `apps.connections.open` hands out a single-use
 * `ws://…/link/?ticket=…` URL (the fake Slack Web API calls `connectionsOpen()`), the WebSocket upgrade
 * arrives at the fake Slack server (`handleUpgrade()`), then `hello`, envelopes, acknowledgements and
 * `disconnect` messages exactly as documented at api.slack.com/apis/socket-mode.
 */
export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SocketModeConnection {
  id: number;
  ticket: string;
  open: boolean;
  /** Close code seen when it ended (1006: dropped without a close frame). */
  closeCode?: number;
}

export interface SocketModeAck {
  envelopeId: string;
  /** The `payload` of the acknowledgement ({} when the app acknowledged without a body). */
  payload: Record<string, unknown>;
}

export interface EnvelopeOptions {
  acceptsResponsePayload?: boolean;
  retryAttempt?: number;
  retryReason?: string;
  /** How long to wait for the acknowledgement (Slack's own limit is 3 s; generous here for slow CI). */
  timeoutMs?: number;
}

export interface FakeSocketMode {
  appToken: string;
  /** Every WebSocket connection accepted, in order (the last one is the live one, if open). */
  connections: SocketModeConnection[];
  /** Acknowledgements received, in order. */
  acks: SocketModeAck[];
  /** How many WebSocket upgrades were refused while not accepting. */
  refusedUpgrades(): number;
  /** Whether a connection is open now. */
  connected(): boolean;
  /** Resolves once `count` connections in total have said hello (default: the first). */
  waitForConnection(count?: number, timeoutMs?: number): Promise<SocketModeConnection>;
  /** Pushes an envelope on the open connection; resolves with the app's acknowledgement. */
  send(type: EnvelopeType, payload: Record<string, unknown>, options?: EnvelopeOptions): Promise<SocketModeAck>;
  /** A slash command (the same fields Slack posts as a form over HTTP). */
  slashCommand(payload: Record<string, string>, options?: EnvelopeOptions): Promise<SocketModeAck>;
  /** block_actions, view_submission, … (the object Slack posts as the `payload` form field over HTTP). */
  interactive(payload: Record<string, unknown>, options?: EnvelopeOptions): Promise<SocketModeAck>;
  /** An Events API `event_callback` body. */
  event(payload: Record<string, unknown>, options?: EnvelopeOptions): Promise<SocketModeAck>;
  /** Kills every open connection without a close frame, as a lost network or a crashed Slack host would. */
  drop(): void;
  /** Sends `{"type":"disconnect","reason":"refresh_requested"}`: the client should reconnect. */
  requestRefresh(): void;
  /** While false, WebSocket upgrades are answered 503 and the client cannot reconnect. */
  setAccepting(accepting: boolean): void;
  /** The answer to `apps.connections.open` with the right token: a fresh single-use URL. */
  connectionsOpen(): { ok: true; url: string };
  /** For the HTTP server that owns the port: a WebSocket upgrade request. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

export function createFakeSocketMode(options: { baseUrl: () => string; appToken?: string; appId?: string }): FakeSocketMode {
  const appToken = options.appToken ?? DEFAULT_APP_TOKEN;
  const appId = options.appId ?? 'A0001';
  const wss = new WebSocketServer({ noServer: true });
  const tickets = new Set<string>();
  const connections: SocketModeConnection[] = [];
  const sockets = new Map<SocketModeConnection, WebSocket>();
  const acks: SocketModeAck[] = [];
  const waiting = new Map<string, (ack: SocketModeAck) => void>();
  let accepting = true;
  let refused = 0;
  let hellos = 0;

  const live = (): [SocketModeConnection, WebSocket] | undefined => [...sockets].reverse().find(([c]) => c.open);

  const onMessage = (data: unknown) => {
    let message: unknown;
    try {
      message = JSON.parse(String(data));
    } catch {
      return; // Slack ignores what it cannot parse; so does the fake
    }
    if (typeof message !== 'object' || message === null || typeof (message as { envelope_id?: unknown }).envelope_id !== 'string') return;
    const { envelope_id: envelopeId, payload } = message as { envelope_id: string; payload?: unknown };
    const ack: SocketModeAck = {
      envelopeId,
      payload: typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {},
    };
    acks.push(ack);
    waiting.get(envelopeId)?.(ack);
    waiting.delete(envelopeId);
  };

  const send: FakeSocketMode['send'] = (type, payload, envelopeOptions = {}) => {
    const current = live();
    if (!current) return Promise.reject(new Error('fake Socket Mode: no open connection to send the envelope on'));
    const envelopeId = randomUUID();
    const timeoutMs = envelopeOptions.timeoutMs ?? 10_000;
    const acked = new Promise<SocketModeAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(envelopeId);
        reject(new Error(`fake Socket Mode: envelope ${envelopeId} (${type}) not acknowledged within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(envelopeId, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
    });
    current[1].send(
      JSON.stringify({
        envelope_id: envelopeId,
        type,
        accepts_response_payload: envelopeOptions.acceptsResponsePayload ?? false,
        payload,
        retry_attempt: envelopeOptions.retryAttempt ?? 0,
        retry_reason: envelopeOptions.retryReason ?? '',
      }),
    );
    return acked;
  };

  const fake: FakeSocketMode = {
    appToken,
    connections,
    acks,
    refusedUpgrades: () => refused,
    connected: () => live() !== undefined,
    async waitForConnection(count = 1, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (hellos < count || !live()) {
        if (Date.now() > deadline)
          throw new Error(`fake Socket Mode: ${count} connection(s) not seen within ${timeoutMs} ms (seen ${hellos}, refused ${refused})`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return live()![0];
    },
    send,
    slashCommand: (payload, o = {}) => send('slash_commands', payload, { acceptsResponsePayload: true, ...o }),
    // Slack lets the acknowledgement carry a response only where one means something (modals, suggestions).
    interactive: (payload, o = {}) =>
      send('interactive', payload, {
        acceptsResponsePayload: payload.type === 'view_submission' || payload.type === 'block_suggestion',
        ...o,
      }),
    event: (payload, o = {}) => send('events_api', payload, o),
    drop() {
      for (const socket of sockets.values()) socket.terminate();
    },
    requestRefresh() {
      live()?.[1].send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'applink-fake' } }));
    },
    setAccepting(value) {
      accepting = value;
    },
    connectionsOpen() {
      const ticket = randomUUID();
      tickets.add(ticket);
      const url = new URL(`/link/?ticket=${ticket}&app_id=${appId}`, options.baseUrl());
      url.protocol = 'ws:';
      return { ok: true, url: url.toString() };
    },
    handleUpgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const ticket = url.searchParams.get('ticket') ?? '';
      const refuse = (status: string) => {
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      };
      if (url.pathname !== '/link/' || !tickets.delete(ticket)) return refuse('401 Unauthorized'); // tickets work once
      if (!accepting) {
        refused++;
        return refuse('503 Service Unavailable');
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const connection: SocketModeConnection = { id: connections.length + 1, ticket, open: true };
        connections.push(connection);
        sockets.set(connection, ws);
        ws.on('message', onMessage);
        ws.on('close', (code) => {
          connection.open = false;
          connection.closeCode = code;
          sockets.delete(connection);
        });
        ws.on('error', () => undefined); // a dropped peer; 'close' follows
        ws.send(
          JSON.stringify({
            type: 'hello',
            num_connections: sockets.size,
            debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18060 },
            connection_info: { app_id: appId },
          }),
        );
        hellos++;
      });
    },
    close() {
      for (const socket of sockets.values()) socket.terminate();
      wss.close();
    },
  };
  return fake;
}
