import { pino } from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

/**
 * Anything that could carry a secret is redacted from every log line. `format: 'pretty'` (for
 * development) writes readable lines, synchronously, instead of JSON.
 */
export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  destination?: pino.DestinationStream,
  format: 'json' | 'pretty' = 'json',
): Logger {
  destination ??= format === 'pretty' ? pretty({ sync: true, ignore: 'pid,hostname,instance', translateTime: 'SYS:HH:MM:ss' }) : pino.destination(1);
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
