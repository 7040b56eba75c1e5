import { pino } from 'pino';

export type Logger = pino.Logger;

/** Anything that could carry a secret is redacted from every log line. */
export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  destination: pino.DestinationStream = pino.destination(1),
): Logger {
  return pino({
    level,
    base,
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'accessToken',
        '*.accessToken',
        'refreshToken',
        '*.refreshToken',
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        'headers.authorization',
        'headers.cookie',
      ],
      censor: '[redacted]',
    },
  }, destination);
}
