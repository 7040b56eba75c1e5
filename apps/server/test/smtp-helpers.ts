/** A real SMTP server on loopback (smtp-server + mailparser) that keeps every mail it receives. */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { waitFor } from './helpers.js';

export interface Inbox {
  url: string;
  mails: ParsedMail[];
  /** The mails to `address` so far. */
  to(address: string): ParsedMail[];
  /** Waits for the n-th mail (1-based) to `address`. */
  next(address: string, n?: number): Promise<ParsedMail>;
  /** Refuses the next `n` mails with a temporary error (451), as a mail server that is unwell. */
  refuseNext(n: number): void;
  /** How many mails were refused so far. */
  refused(): number;
  close(): Promise<void>;
}

export async function startSmtp(): Promise<Inbox> {
  const mails: ParsedMail[] = [];
  let toRefuse = 0;
  let refused = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, done) {
      if (toRefuse > 0) {
        toRefuse--;
        refused++;
        stream.resume();
        stream.on('end', () => done(Object.assign(new Error('Try again later'), { responseCode: 451 })));
        return;
      }
      simpleParser(stream).then(
        (mail) => {
          mails.push(mail);
          done();
        },
        (err: Error) => done(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const to = (address: string) =>
    mails.filter((m) => {
      const list = Array.isArray(m.to) ? m.to : m.to ? [m.to] : [];
      return list.some((a) => a.value.some((v) => v.address?.toLowerCase() === address.toLowerCase()));
    });
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    to,
    next: (address, n = 1) => waitFor(() => to(address)[n - 1]),
    refuseNext: (n) => {
      toRefuse = n;
    },
    refused: () => refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The token of the first Parley link in a mail's text (`…#token=<id>.<secret>`). */
export function linkToken(mail: ParsedMail, path: '/verify-email' | '/reset-password') {
  const match = new RegExp(`https?://\\S+${path}#token=([\\w.-]+)`).exec(mail.text ?? '');
  if (!match) throw new Error(`no ${path} link in: ${mail.text}`);
  return match[1]!;
}
