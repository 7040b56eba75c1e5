import { randomUUID } from 'node:crypto';
import type { Config } from '@parley/config';
import {
  claimMailJob,
  deleteMailJob,
  insertMailJob,
  markMailSending,
  retryMailJob,
  type Db,
  type MailJobRow,
} from '@parley/db';
import nodemailer, { type Transporter } from 'nodemailer';
import type { z } from 'zod';
import type { Logger } from '../logger.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * A kind of mail job: its payload's schema (a row that does not parse, e.g. from another version,
 * is dropped with a warning) and how it becomes a mail, or none, when it runs.
 */
export interface MailKind<T> {
  payload: z.ZodType<T>;
  build: (payload: T) => Promise<Mail | null>;
}

/** What one developer mail page shows: the last mails "sent" without SMTP. */
export interface OutboxEntry extends Mail {
  at: string;
}

const OUTBOX_SIZE = 50;
/** Longer than any send may take (the transport's timeouts below), so a live sender never loses its job. */
const LEASE_MS = 5 * 60_000;
/** Other instances' jobs, retries and jobs left by a dead instance are found by this poll. */
const POLL_MS = 15_000;
const MAX_ATTEMPTS = 8;
/** 30 s, 1 min, 2 min, … 1 h: a mail server that is down for hours gets a few tries, not a flood. */
const backoffMs = (attempts: number) => Math.min(60 * 60_000, 30_000 * 2 ** (attempts - 1));

/**
 * Sends mail over SMTP (nodemailer) from a durable queue (the `mail_outbox` table), so that a
 * request never waits for, or is timed by, a mail server, and a queued mail survives a crash. A
 * request inserts a row saying what to mail; the worker (on every instance) claims due rows one at
 * a time, builds the mail (which may read the database and make a link) and sends it. A failed
 * send is retried with backoff; each job is sent at most once: `sending_at` is set just before the
 * SMTP transaction, and a job whose sender died during it is dropped, not sent again (SMTP cannot
 * tell whether the mail left). Without SMTP_URL, outside production, every mail is written to the
 * log and kept for the developer page `/dev/mail`; in production without SMTP nothing is queued.
 */
export class MailService {
  private readonly transport: Transporter | null;
  private readonly kinds = new Map<string, MailKind<unknown>>();
  private readonly owner: string;
  private running: Promise<void> | null = null;
  private wanted = false;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  readonly outbox: OutboxEntry[] = [];
  /** True when mails actually leave (SMTP configured) or at least reach the developer (not production). */
  readonly delivers: boolean;

  constructor(private readonly deps: { db: Db; config: Config; logger: Logger }) {
    const { mail } = deps.config;
    this.transport = mail.smtpUrl
      ? nodemailer.createTransport({
          url: mail.smtpUrl,
          connectionTimeout: 30_000,
          greetingTimeout: 30_000,
          socketTimeout: 60_000,
        })
      : null;
    this.delivers = this.transport !== null || !deps.config.isProduction;
    this.owner = `${deps.config.instanceId}:${randomUUID()}`;
  }

  /** Declares a kind of job (at start-up, before any is queued or run). */
  register<T>(kind: string, spec: MailKind<T>) {
    this.kinds.set(kind, spec as MailKind<unknown>);
  }

  /** The start-up warning: what is off when mail cannot be sent. */
  warnIfDisabled() {
    if (this.transport || !this.deps.config.isProduction) return;
    this.deps.logger.warn(
      'Mail is disabled (SMTP_URL is not set): no verification mails are sent, so addresses stay unverified, ' +
        'and password-reset links are never delivered, so a forgotten password cannot be reset.',
    );
  }

  /**
   * Queues a job: one INSERT, then returns (the job runs off the request path). The same work
   * whatever the job will find when it runs.
   */
  async enqueue<T>(kind: string, payload: T) {
    if (!this.kinds.has(kind)) throw new Error(`Unknown mail kind ${kind}`);
    if (!this.delivers) return;
    await insertMailJob(this.deps.db, kind, payload);
    this.wake();
  }

  /** Starts the worker: runs what is due (jobs queued before a restart included), then polls. */
  start() {
    this.stopped = false;
    this.wake();
  }

  /** Stops claiming jobs and waits for the one in hand; queued jobs stay for the next start. */
  async stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.idle();
  }

  /** Looks for due jobs now (a queued job does this itself; tests after changing a row). */
  wake() {
    if (this.stopped) return;
    this.wanted = true;
    this.running ??= this.drain().finally(() => {
      this.running = null;
      if (this.wanted) this.wake();
      else this.schedule();
    });
  }

  /**
   * Resolves once every due job has been handled (tests, shutdown); not waiting for retries.
   * True when there was work to wait for.
   */
  async idle() {
    const busy = this.running !== null;
    while (this.running) await this.running;
    return busy;
  }

  private schedule() {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), POLL_MS);
    this.timer.unref();
  }

  private async drain() {
    // Let the request that queued the job answer first.
    await new Promise((r) => setImmediate(r));
    while (this.wanted && !this.stopped) {
      this.wanted = false;
      try {
        for (let job = await this.claim(); job; job = await this.claim()) await this.run(job);
      } catch (err) {
        // The database is away: the poll tries again.
        this.deps.logger.error({ err }, 'The mail queue could not be read');
      }
    }
  }

  private claim() {
    return this.stopped ? Promise.resolve(undefined) : claimMailJob(this.deps.db, this.owner, LEASE_MS);
  }

  private async run(job: MailJobRow) {
    const { db, logger } = this.deps;
    if (job.sendingAt !== null) {
      logger.warn(
        { job: job.id, kind: job.kind },
        'A mail job was interrupted while sending; it may have been sent, so it is not sent again',
      );
      return deleteMailJob(db, job.id);
    }
    const kind = this.kinds.get(job.kind);
    const payload = kind?.payload.safeParse(job.payload);
    if (!kind || !payload?.success) {
      logger.warn({ job: job.id, kind: job.kind }, 'A mail job of unknown kind or shape was dropped');
      return deleteMailJob(db, job.id);
    }
    let mail: Mail | null;
    try {
      mail = await kind.build(payload.data);
    } catch (err) {
      return this.failed(job, err);
    }
    if (!mail) return deleteMailJob(db, job.id);
    // From here the mail may leave: a crash before the delete must not send it again.
    if (!(await markMailSending(db, job.id, this.owner))) return;
    try {
      await this.deliver(mail);
    } catch (err) {
      // An SMTP error answer, or no connection: the server did not take the mail.
      return this.failed(job, err);
    }
    await deleteMailJob(db, job.id);
  }

  private async failed(job: MailJobRow, err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    if (job.attempts >= MAX_ATTEMPTS) {
      this.deps.logger.error(
        { err, job: job.id, kind: job.kind, attempts: job.attempts },
        'A mail could not be sent; giving up',
      );
      return deleteMailJob(this.deps.db, job.id);
    }
    const delay = backoffMs(job.attempts);
    this.deps.logger.warn(
      { err: message, job: job.id, kind: job.kind, attempts: job.attempts, retryInMs: delay },
      'A mail could not be sent; retrying later',
    );
    await retryMailJob(this.deps.db, job.id, delay, message.slice(0, 500));
  }

  private async deliver(mail: Mail) {
    if (this.transport) {
      await this.transport.sendMail({ from: this.deps.config.mail.from, ...mail });
      this.deps.logger.info({ to: mail.to, subject: mail.subject }, 'Mail sent');
      return;
    }
    // Queued before SMTP_URL was removed: nowhere to send it.
    if (this.deps.config.isProduction) return;
    // Development: the developer reads the mail (and its link) in the log or at /dev/mail.
    this.outbox.unshift({ ...mail, at: new Date().toISOString() });
    this.outbox.length = Math.min(this.outbox.length, OUTBOX_SIZE);
    this.deps.logger.info(
      { mail: { to: mail.to, subject: mail.subject, text: mail.text } },
      'Mail (no SMTP_URL: not sent; see /dev/mail)',
    );
  }

  close() {
    this.transport?.close();
  }
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A mail with one link, as plain text and as simple HTML. */
export function linkMail(opts: {
  to: string;
  subject: string;
  greeting: string;
  lines: string[];
  action: string;
  url: string;
  footer: string;
}): Mail {
  const text = [
    opts.greeting,
    '',
    ...opts.lines,
    '',
    `${opts.action}: ${opts.url}`,
    '',
    opts.footer,
    '',
    '— Parley',
  ].join('\n');
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
