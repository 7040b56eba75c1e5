import type { Config } from '@parley/config';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../logger.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** A job the mail queue runs off the request path: it may read the database, then send. */
export type MailJob = () => Promise<Mail | null>;

/** What one developer mail page shows: the last mails "sent" without SMTP. */
export interface OutboxEntry extends Mail {
  at: string;
}

const OUTBOX_SIZE = 50;

/**
 * Sends mail over SMTP (nodemailer) from an in-process queue, so that a request never waits for,
 * or is timed by, a mail server. Without SMTP_URL, outside production, every mail is written to
 * the log and kept for the developer page `/dev/mail`; in production without SMTP nothing is sent.
 */
export class MailService {
  private readonly transport: Transporter | null;
  private readonly queue: MailJob[] = [];
  private running: Promise<void> | null = null;
  readonly outbox: OutboxEntry[] = [];
  /** True when mails actually leave (SMTP configured) or at least reach the developer (not production). */
  readonly delivers: boolean;

  constructor(private readonly deps: { config: Config; logger: Logger }) {
    const { mail } = deps.config;
    this.transport = mail.smtpUrl ? nodemailer.createTransport(mail.smtpUrl) : null;
    this.delivers = this.transport !== null || !deps.config.isProduction;
  }

  /** The start-up warning: what is off when mail cannot be sent. */
  warnIfDisabled() {
    if (this.transport || !this.deps.config.isProduction) return;
    this.deps.logger.warn(
      'Mail is disabled (SMTP_URL is not set): no verification mails are sent, so addresses stay unverified, ' +
        'and password-reset links are never delivered, so a forgotten password cannot be reset.',
    );
  }

  /** Queues a job; returns at once. The job builds the mail (or decides there is none). */
  enqueue(job: MailJob) {
    this.queue.push(job);
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Resolves once every queued mail has been handled (tests, shutdown). */
  async idle() {
    while (this.running) await this.running;
  }

  private async drain() {
    // Let the request that queued the job answer first.
    await new Promise((r) => setImmediate(r));
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      try {
        const mail = await job();
        if (mail) await this.deliver(mail);
      } catch (err) {
        this.deps.logger.error({ err }, 'A mail could not be sent');
      }
    }
  }

  private async deliver(mail: Mail) {
    if (this.transport) {
      await this.transport.sendMail({ from: this.deps.config.mail.from, ...mail });
      this.deps.logger.info({ to: mail.to, subject: mail.subject }, 'Mail sent');
      return;
    }
    if (this.deps.config.isProduction) return;
    // Development: the developer reads the mail (and its link) in the log or at /dev/mail.
    this.outbox.unshift({ ...mail, at: new Date().toISOString() });
    this.outbox.length = Math.min(this.outbox.length, OUTBOX_SIZE);
    this.deps.logger.info({ mail: { to: mail.to, subject: mail.subject, text: mail.text } }, 'Mail (no SMTP_URL: not sent; see /dev/mail)');
  }

  close() {
    this.transport?.close();
  }
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A mail with one link, as plain text and as simple HTML. */
export function linkMail(opts: { to: string; subject: string; greeting: string; lines: string[]; action: string; url: string; footer: string }): Mail {
  const text = [opts.greeting, '', ...opts.lines, '', `${opts.action}: ${opts.url}`, '', opts.footer, '', '— Parley'].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1d2330">
<p>${escapeHtml(opts.greeting)}</p>
${opts.lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')}
<p><a href="${escapeHtml(opts.url)}" style="display:inline-block;padding:10px 18px;background:#3b5bdb;color:#fff;border-radius:6px;text-decoration:none">${escapeHtml(opts.action)}</a></p>
<p style="color:#555;font-size:13px">Or paste this address into your browser: ${escapeHtml(opts.url)}</p>
<p style="color:#555;font-size:13px">${escapeHtml(opts.footer)}</p>
<p>— Parley</p>
</body></html>`;
  return { to: opts.to, subject: opts.subject, text, html };
}
