import pino, { type Logger } from 'pino';

/**
 * Paths pino censors wherever they appear. Adapters should not log secrets at all; this is the net
 * under them (request headers, token fields, OAuth codes and verifiers).
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'refreshToken',
  '*.refreshToken',
  'refresh_token',
  '*.refresh_token',
  'authorizationCode',
  '*.authorizationCode',
  'codeVerifier',
  '*.codeVerifier',
  'code_verifier',
  '*.code_verifier',
  'client_secret',
  '*.client_secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-slack-signature"]',
  'botToken',
  '*.botToken',
  'signingSecret',
  '*.signingSecret',
  'appToken',
  '*.appToken',
];

export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'vteam-slack' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.errWithCause },
    },
    // Log lines are written by libuv's thread pool, not on the event loop (a write to a pipe can take
    // as long as an ack); lines logged while a write is under way go out together. pino flushes what is
    // left when the process exits.
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type { Logger };
