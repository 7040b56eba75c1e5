import type { Config } from '@parley/config';
import {
  deletePushSubscription,
  deletePushSubscriptionsOfSessions,
  deleteUserPushSubscription,
  findActiveSession,
  notificationSettingsOf,
  pushContext,
  pushTargets,
  pushTargetsIn,
  saveNotificationSettings,
  upsertPushSubscription,
  type Db,
  type PushTarget,
} from '@parley/db';
import webpush from 'web-push';
import type { Logger } from '../logger.js';
import type { Message } from '../presenters.js';
import type { Call } from '@parley/protocol';
import { BadRequest, Unauthorized } from '../errors.js';

/** What the service worker receives (decrypted), and shows. */
export type PushPayload =
  | {
      type: 'message';
      conversationId: string;
      messageId: string;
      seq: number;
      /** The group's title, or the sender's name in a direct chat. */
      title: string;
      /** The text, or "New message from X" when the member hides message text. */
      body: string;
      senderName: string;
    }
  | {
      type: 'call';
      callId: string;
      conversationId: string;
      media: 'audio' | 'video';
      callerName: string;
      expiresAt: string;
    };

/** Who currently looks at Parley (a visible tab, on any instance): they hear of news in the tab, not by push. */
export interface Attention {
  attendingAmong(userIds: string[]): Promise<Set<string>>;
}

/** How one push request travels: fetch by default; a test may watch it. */
export type PushFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: Uint8Array<ArrayBuffer> | null; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null } }>;

interface Job {
  target: PushTarget;
  payload: string;
  ttlSeconds: number;
  urgency: 'normal' | 'high';
  topic: string | undefined;
  attempt: number;
}

/** Room for a 4 KiB push record after encryption overhead: longer text is cut. */
const MAX_BODY_CHARS = 600;
const MAX_QUEUED = 10_000;
const CONCURRENCY = 8;
const MAX_ATTEMPTS = 4;
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * The messages stored within this long share one lookup of their push subscriptions (else, at low
 * load, each send got a query of its own); a push is no faster than the push service anyway.
 */
const SENT_LOOKUP_DELAY_MS = 25;

const bad = (message: string) => new BadRequest(message);

/**
 * Web Push (RFC 8030/8291/8292). Sends run on a queue of their own, off the request path: a
 * message is answered to its sender before anything here runs, and a slow or failing push
 * service only delays other pushes. Failures that may pass (network, 429, 5xx) are retried with
 * exponential backoff; 404/410 mean the browser dropped the subscription, which is then deleted.
 */
export class PushService {
  private readonly queue: Job[] = [];
  private running = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** Settles when everything queued so far has been sent or given up (tests, shutdown). */
  private idleWaiters: (() => void)[] = [];
  /** Counts for /metrics and tests. */
  readonly stats = { sent: 0, failed: 0, gone: 0, retried: 0, dropped: 0 };

  constructor(
    private readonly deps: {
      db: Db;
      config: Config;
      logger: Logger;
      attention: Attention;
      fetch?: PushFetch;
      /** Backoff before retry n (1-based); tests shorten it. */
      backoffMs?: (attempt: number) => number;
    },
  ) {}

  get publicKey() {
    return this.deps.config.push.vapidPublicKey;
  }

  async subscribe(
    userId: string,
    sessionId: string,
    input: { endpoint: string; keys: { p256dh: string; auth: string } },
  ) {
    this.checkEndpoint(input.endpoint);
    // The session may have ended since its access token was issued.
    if (!(await findActiveSession(this.deps.db, sessionId))) {
      throw new Unauthorized('Please sign in.');
    }
    await upsertPushSubscription(this.deps.db, {
      endpoint: input.endpoint,
      userId,
      sessionId,
      p256dh: input.keys.p256dh,
      auth: input.keys.auth,
    });
    return { ok: true as const };
  }

  /** Idempotent: an endpoint this user does not hold is no error (the browser may have dropped it already). */
  async unsubscribe(userId: string, endpoint: string) {
    await deleteUserPushSubscription(this.deps.db, userId, endpoint);
    return { ok: true as const };
  }

  /** Signed-out or revoked sessions stop receiving pushes at once. */
  async sessionsEnded(sessionIds: string[]) {
    try {
      await deletePushSubscriptionsOfSessions(this.deps.db, sessionIds);
    } catch (err) {
      // Pushes already skip ended sessions (pushTargets); the rows only linger.
      this.deps.logger.warn({ err: (err as Error).message }, "Deleting ended sessions' push subscriptions failed");
    }
  }

  settings(userId: string) {
    return notificationSettingsOf(this.deps.db, userId);
  }

  async updateSettings(userId: string, input: { showMessageText: boolean }) {
    await saveNotificationSettings(this.deps.db, userId, input);
    return this.settings(userId);
  }

  private sentSoFar: { message: Message; others: string[] }[] = [];

  /**
   * After commit: every other member (of `recipients`, the members the message was stored for)
   * who is not looking at Parley hears of the message. The messages stored until the lookups run
   * share one query for their push subscriptions.
   */
  messageSent(message: Message, recipients: string[]) {
    const others = recipients.filter((id) => id !== message.senderId);
    if (this.closed || others.length === 0) return;
    this.sentSoFar.push({ message, others });
    if (this.sentSoFar.length > 1) return;
    this.run(async () => {
      const sent = this.sentSoFar;
      this.sentSoFar = [];
      const rows = await pushTargetsIn(
        this.deps.db,
        [...new Set(sent.map((s) => s.message.conversationId))],
        [...new Set(sent.flatMap((s) => s.others))],
      );
      if (rows.length === 0) return;
      for (const { message, others } of sent) {
        const mine = rows.filter((r) => r.conversationId === message.conversationId && others.includes(r.userId));
        if (mine.length === 0) continue;
        // One message's failure (its context, attention) does not keep the others' pushes.
        await this.away(mine)
          .then((targets) => this.notifyMessage(message, targets))
          .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'Push lookup failed; nothing sent'));
      }
    }, SENT_LOOKUP_DELAY_MS);
  }

  private async notifyMessage(message: Message, targets: PushTarget[]) {
    if (targets.length === 0) return;
    const context = await pushContext(this.deps.db, message.conversationId, message.senderId);
    if (!context) return;
    const title = context.kind === 'group' && context.title ? context.title : context.senderName;
    // Cut by code points (never half a surrogate pair); a message of attachments only has no text.
    const chars = [...message.body];
    const text =
      chars.length === 0
        ? 'Sent an attachment'
        : chars.length > MAX_BODY_CHARS
          ? `${chars.slice(0, MAX_BODY_CHARS).join('')}…`
          : message.body;
    const preview = context.kind === 'group' ? `${context.senderName}: ${text}` : text;
    for (const target of targets) {
      const payload: PushPayload = {
        type: 'message',
        conversationId: message.conversationId,
        messageId: message.id,
        seq: message.seq,
        title,
        body: target.showMessageText ? preview : `New message from ${context.senderName}`,
        senderName: context.senderName,
      };
      this.enqueue({
        target,
        payload: JSON.stringify(payload),
        ttlSeconds: 24 * 3600,
        urgency: 'normal',
        // The push service keeps only the newest undelivered push per conversation (RFC 8030 §5.4).
        topic: message.conversationId.replace(/-/g, ''),
        attempt: 0,
      });
    }
  }

  /** A call rings by push on the callee's devices (unless they look at Parley, or muted the chat). */
  callIncoming(call: Call, ringTimeoutMs: number, rung: string[]) {
    this.run(async () => {
      // A group call rings every member it rang (calls.ts); each one not looking at Parley gets a push.
      if (rung.length === 0) return;
      const targets = await this.away(await pushTargets(this.deps.db, call.conversationId, rung));
      if (targets.length === 0) return;
      const context = await pushContext(this.deps.db, call.conversationId, call.callerId);
      if (!context) return;
      const expiresAt = new Date(Date.parse(call.createdAt) + ringTimeoutMs).toISOString();
      const payload: PushPayload = {
        type: 'call',
        callId: call.id,
        conversationId: call.conversationId,
        media: call.media,
        callerName: context.senderName,
        expiresAt,
      };
      for (const target of targets) {
        this.enqueue({
          target,
          payload: JSON.stringify(payload),
          // A ring delivered after the call stopped ringing is noise.
          ttlSeconds: Math.max(1, Math.ceil(ringTimeoutMs / 1000)),
          urgency: 'high',
          topic: undefined,
          attempt: 0,
        });
      }
    });
  }

  /** The targets whose owner has no visible Parley page anywhere (asked only for those with a subscription). */
  private async away(targets: PushTarget[]) {
    if (targets.length === 0) return targets;
    const attending = await this.deps.attention.attendingAmong([...new Set(targets.map((t) => t.userId))]);
    return targets.filter((t) => !attending.has(t.userId));
  }

  /** Resolves once nothing is queued, sending or waiting to be retried. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close() {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.settleIdle();
  }

  private pendingLookups = 0;

  /** Runs the lookups that decide who gets a push, after the caller has gone on. */
  private run(lookup: () => Promise<void>, delayMs = 0) {
    if (this.closed) return;
    this.pendingLookups++;
    const start = (fn: () => void) => (delayMs > 0 ? setTimeout(fn, delayMs).unref() : setImmediate(fn));
    start(() => {
      // Closed meanwhile (shutdown): the database may be gone; nothing more is sent anyway.
      (this.closed ? Promise.resolve() : lookup())
        .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'Push lookup failed; nothing sent'))
        .finally(() => {
          this.pendingLookups--;
          this.settleIdle();
        });
    });
  }

  private enqueue(job: Job) {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUED) {
      // A push service down for long: the oldest news is the least useful.
      this.queue.shift();
      this.stats.dropped++;
    }
    this.queue.push(job);
    this.pump();
  }

  private pump() {
    while (this.running < CONCURRENCY && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.deliver(job).finally(() => {
        this.running--;
        this.pump();
        this.settleIdle();
      });
    }
  }

  private async deliver(job: Job) {
    const { target } = job;
    let status: number;
    let retryAfter: string | null = null;
    try {
      const details = webpush.generateRequestDetails(
        { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
        job.payload,
        {
          vapidDetails: {
            subject: this.deps.config.push.subject,
            publicKey: this.deps.config.push.vapidPublicKey,
            privateKey: this.deps.config.push.vapidPrivateKey,
          },
          TTL: job.ttlSeconds,
          urgency: job.urgency,
          ...(job.topic ? { topic: job.topic } : {}),
        },
      );
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(details.headers)) headers[k] = String(v);
      const send: PushFetch = this.deps.fetch ?? defaultFetch;
      const res = await send(details.endpoint, {
        method: details.method,
        headers,
        body: details.body ? new Uint8Array(details.body) : null,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
    } catch (err) {
      // Keys a browser would never produce make encryption throw: retrying cannot help.
      if (err instanceof Error && /p256dh|auth|public key|must be/i.test(err.message)) {
        this.deps.logger.warn({ err: err.message }, 'Push subscription unusable; deleting it');
        await deletePushSubscription(this.deps.db, target.endpoint).catch(() => undefined);
        this.stats.gone++;
        return;
      }
      status = 0; // network error or timeout
    }
    if (status >= 200 && status < 300) {
      this.stats.sent++;
      return;
    }
    if (status === 404 || status === 410) {
      this.stats.gone++;
      await deletePushSubscription(this.deps.db, target.endpoint).catch((err: Error) =>
        this.deps.logger.warn({ err: err.message }, 'Deleting a gone push subscription failed'),
      );
      return;
    }
    const transient = status === 0 || status === 429 || status >= 500;
    if (!transient || job.attempt + 1 >= MAX_ATTEMPTS || this.closed) {
      this.stats.failed++;
      this.deps.logger.warn({ status, attempt: job.attempt + 1 }, 'Push not delivered; giving up');
      return;
    }
    this.stats.retried++;
    const backoff = (this.deps.backoffMs ?? defaultBackoff)(job.attempt + 1);
    const asked = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.enqueue({ ...job, attempt: job.attempt + 1 });
      },
      Math.min(Math.max(backoff, asked), 5 * 60_000),
    );
    timer.unref();
    this.timers.add(timer);
  }

  /**
   * The server will POST to this URL: only https on the configured push services' hosts, so a
   * subscription cannot aim our requests at an internal address. Loopback http is allowed outside
   * production, for a local mock push service.
   */
  private checkEndpoint(endpoint: string) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw bad('The push endpoint is not a URL.');
    }
    const { push } = this.deps.config;
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    if (push.allowLoopback && loopback && (url.protocol === 'http:' || url.protocol === 'https:')) return;
    const host = url.hostname.toLowerCase();
    const known = push.endpointHosts.some((h) => host === h || host.endsWith(`.${h}`));
    if (url.protocol !== 'https:' || !known || url.username || url.password) {
      throw bad('This push service is not supported.');
    }
  }

  private isIdle() {
    return this.queue.length === 0 && this.running === 0 && this.timers.size === 0 && this.pendingLookups === 0;
  }

  private settleIdle() {
    if (!this.isIdle() && !this.closed) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

const defaultBackoff = (attempt: number) => 1000 * 4 ** (attempt - 1) * (0.75 + Math.random() / 2);

const defaultFetch: PushFetch = async (url, init) =>
  fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal, redirect: 'error' });
