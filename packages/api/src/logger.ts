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
  destination ??=
    format === 'pretty'
      ? pretty({ sync: true, ignore: 'pid,hostname,instance', translateTime: 'SYS:HH:MM:ss' })
      : pino.destination(1);
  return pino(
    {
      level,
      base,
      serializers: { req: requestWithoutQuery },
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
    },
    destination,
  );
}

/**
 * A request as the access log shows it: the path without its query string, which carries tRPC
 * GET inputs (searched emails and names, ids) that have no place in logs.
 */
function requestWithoutQuery(req: unknown) {
  if (typeof req !== 'object' || req === null) return req;
  const r = req as {
    method?: string;
    url?: string;
    host?: string;
    hostname?: string;
    ip?: string;
    remoteAddress?: string;
    socket?: { remotePort?: number };
    remotePort?: number;
  };
  return {
    method: r.method,
    url: typeof r.url === 'string' ? r.url.split('?')[0] : r.url,
    host: r.host ?? r.hostname,
    remoteAddress: r.remoteAddress ?? r.ip,
    remotePort: r.remotePort ?? r.socket?.remotePort,
  };
}
