import type { MailService } from '@parley/api';
import type { FastifyReply } from 'fastify';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * `GET /dev/mail`, outside production only: the mails a development server would have sent
 * (no SMTP_URL), newest first, with their links, so a developer can verify and reset by hand.
 */
export function devMailPage(mail: MailService) {
  return async (_req: unknown, reply: FastifyReply) => {
    const items = mail.outbox
      .map(
        (m) =>
          `<article><h2>${escapeHtml(m.subject)}</h2><p>To ${escapeHtml(m.to)} · ${escapeHtml(m.at)}</p>` +
          `<pre>${escapeHtml(m.text).replace(/(https?:\/\/\S+)/g, '<a href="$1">$1</a>')}</pre></article>`,
      )
      .join('\n');
    const body = mail.outbox.length > 0 ? items : '<p>No mail yet. Mails appear here when SMTP_URL is not set.</p>';
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parley · development mail</title></head><body><h1>Development mail</h1>${body}</body></html>`,
      );
  };
}
