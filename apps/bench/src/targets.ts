/**
 * One interface, three systems: Parley (through packages/client over WebSocket), the floor
 * (plain `ws` relay) and the peer (Express + Socket.IO + pg). The load generator only sees this.
 */
import { randomUUID } from 'node:crypto';
import { createParleyClient, followEvents, type EventFollower, type ParleyClient } from '@parley/client';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { seedParley, type SeedSource } from './seed.js';

export type TargetName = 'parley' | 'floor' | 'peer';

export interface Target {
  readonly name: TargetName;
  readonly url: string;
  /** Member user indexes of each conversation. */
  groups: number[][];
  /** Called for every message that reaches a member other than its sender. */
  onDeliver: (recipient: number, body: string) => void;
  /** Creates `users` users, puts them in conversations of `groupSize`, connects and subscribes each. */
  setup(users: number, groupSize: number, progress: (done: number, total: number, what: string) => void): Promise<void>;
  /** Resolves when the server acknowledges the message (stored, for Parley and the peer). */
  send(user: number, group: number, body: string): Promise<void>;
  /** Opens `count` more authenticated sockets, each holding the subscriptions a client holds. */
  openSockets(count: number, progress: (done: number) => void): Promise<void>;
  closeSockets(): Promise<void>;
  /** Logs users in over and over with `concurrency` parallel requests until `until`. */
  loginStorm?(concurrency: number, until: number): Promise<{ ok: number; failed: number; latencies: number[] }>;
  /** Rings `count` calls between pairs of users: start → accepted, then an offer/answer round trip. */
  callSignaling?(
    count: number,
    progress: (done: number) => void,
  ): Promise<{ setup: number[]; offerAnswer: number[]; failed: number; firstError: string | null }>;
  /** Group calls of 4: start → the 3 others joined (as the caller hears it), then an addressed offer/answer round trip. */
  groupCallSignaling?(
    count: number,
    progress: (done: number) => void,
  ): Promise<{ setup: number[]; offerAnswer: number[]; failed: number; firstError: string | null }>;
  close(): Promise<void>;
}

const WS = WebSocket as unknown as typeof globalThis.WebSocket;
const PASSWORD = 'correct horse battery staple';

async function pool<T>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

function makeGroups(users: number, groupSize: number): number[][] {
  const groups: number[][] = [];
  for (let i = 0; i + 1 < users; i += groupSize) {
    groups.push(Array.from({ length: Math.min(groupSize, users - i) }, (_, k) => i + k));
  }
  return groups;
}

type CallEvent = { type: string; call?: { id: string }; callId?: string; userId?: string; signal?: { type: string } };

/**
 * What a client holds: the message stream (followEvents), presence and call events. Resolves once
 * all three subscriptions have started; `stop()` ends them.
 */
function subscribeAll(
  api: ParleyClient['api'],
  onEvent: Parameters<typeof followEvents>[1]['onEvent'],
  onCall: (event: CallEvent) => void = () => {},
): Promise<{ stop(): void }> {
  return new Promise((resolve, reject) => {
    let started = 0;
    const timer = setTimeout(() => reject(new Error('subscriptions did not start within 30 s')), 30_000);
    const once = () => {
      let done = false;
      return () => {
        if (done) return;
        done = true;
        if (++started === 3) {
          clearTimeout(timer);
          resolve(handle);
        }
      };
    };
    const follower: EventFollower = followEvents(api, { onEvent, onStarted: once() });
    const presence = api.presence.onChange.subscribe(undefined, { onStarted: once(), onData: () => {} });
    const calls = api.calls.onEvent.subscribe(undefined, {
      onStarted: once(),
      onData: (event) => onCall(event as unknown as CallEvent),
    });
    const handle = {
      stop() {
        follower.stop();
        presence.unsubscribe();
        calls.unsubscribe();
      },
    };
  });
}

/** Events that may arrive before anyone waits for them: each remembers when it arrived. */
class Mailbox {
  private arrived = new Map<string, number>();
  private waiting = new Map<string, (t: number) => void>();
  deliver(key: string) {
    const t = performance.now();
    const w = this.waiting.get(key);
    if (w) {
      this.waiting.delete(key);
      w(t);
    } else this.arrived.set(key, t);
  }
  expect(key: string, timeoutMs = 10_000): Promise<number> {
    const t = this.arrived.get(key);
    if (t !== undefined) {
      this.arrived.delete(key);
      return Promise.resolve(t);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`no ${key} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(key, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------

export class ParleyTarget implements Target {
  readonly name = 'parley' as const;
  groups: number[][] = [];
  onDeliver: (recipient: number, body: string) => void = () => {};
  private users: { client: ParleyClient; id: string; email: string; token: string; expiresAt: string }[] = [];
  private followers: { stop(): void }[] = [];
  private conversationIds: string[] = [];
  private extra: { client: ParleyClient; follower: { stop(): void } }[] = [];
  private mailbox = new Mailbox();
  private readonly runId = Date.now().toString(36);

  /** With `seed`, users and conversations are written straight into the server's database (seed.ts). */
  constructor(
    readonly url: string,
    private readonly seed: SeedSource | null = null,
    private readonly registerConcurrency = 4,
  ) {}

  private client() {
    return createParleyClient({
      url: this.url,
      transport: 'ws',
      cookies: 'jar',
      WebSocket: WS,
      retryDelayMs: () => 100,
    });
  }

  async setup(users: number, groupSize: number, progress: (done: number, total: number, what: string) => void) {
    if (this.seed) return this.seededSetup(users, groupSize, this.seed, progress);
    let done = 0;
    const slots = Array.from({ length: users }, (_, i) => i);
    this.users = new Array(users);
    await pool(slots, this.registerConcurrency, async (i) => {
      const client = this.client();
      const email = `bench-${this.runId}-${i}@bench.test`;
      const r = await client.api.auth.register.mutate({ email, password: PASSWORD, displayName: `Bench ${i}` });
      this.users[i] = { client, id: r.user.id, email, token: r.accessToken, expiresAt: r.accessTokenExpiresAt };
      progress(++done, users, 'registered (bcrypt)');
    });
    await this.subscribeUsers(progress);
    this.groups = makeGroups(users, groupSize);
    done = 0;
    this.conversationIds = new Array(this.groups.length);
    await pool(this.groups, 8, async (members, g) => {
      const [owner, ...others] = members;
      const conv = await this.users[owner!]!.client.api.conversations.createGroup.mutate({
        title: `bench ${g}`,
        memberIds: others.map((m) => this.users[m]!.id),
      });
      this.conversationIds[g] = conv.id;
      progress(++done, this.groups.length, 'conversations');
    });
  }

  private async seededSetup(
    users: number,
    groupSize: number,
    seed: SeedSource,
    progress: (done: number, total: number, what: string) => void,
  ) {
    this.groups = makeGroups(users, groupSize);
    progress(0, users, 'seeding');
    const seeded = await seedParley(seed, { users, groups: this.groups, password: PASSWORD, runId: this.runId });
    this.conversationIds = seeded.conversationIds;
    this.users = seeded.users.map((u) => {
      const client = this.client();
      client.setSession({ accessToken: u.token, accessTokenExpiresAt: u.expiresAt });
      return { client, ...u };
    });
    await this.subscribeUsers(progress);
  }

  private async subscribeUsers(progress: (done: number, total: number, what: string) => void) {
    let done = 0;
    this.followers = await Promise.all(
      this.users.map(async (u, i) => {
        const f = await subscribeAll(
          u.client.api,
          (event) => {
            if (event.type === 'message.new' && event.message.senderId !== u.id) this.onDeliver(i, event.message.body);
          },
          (event) => {
            const callId = event.call?.id ?? event.callId;
            const who = event.type === 'call.joined' ? `:${event.userId}` : '';
            this.mailbox.deliver(`${event.type}${event.signal ? `:${event.signal.type}` : ''}${who}:${callId}:${i}`);
          },
        );
        progress(++done, this.users.length, 'subscribed');
        return f;
      }),
    );
  }

  async send(user: number, group: number, body: string) {
    await this.users[user]!.client.api.messages.send.mutate({
      conversationId: this.conversationIds[group]!,
      clientId: randomUUID(),
      body,
    });
  }

  async openSockets(count: number, progress: (done: number) => void) {
    let done = 0;
    const slots = Array.from({ length: count }, (_, i) => i);
    await pool(slots, 50, async (i) => {
      const u = this.users[i % this.users.length]!;
      const client = this.client();
      client.setSession({ accessToken: u.token, accessTokenExpiresAt: u.expiresAt });
      const follower = await subscribeAll(client.api, () => {});
      this.extra.push({ client, follower });
      progress(++done);
    });
  }

  async closeSockets() {
    const extra = this.extra;
    this.extra = [];
    await Promise.all(
      extra.map(async (e) => {
        e.follower.stop();
        await e.client.close();
      }),
    );
  }

  async loginStorm(concurrency: number, until: number) {
    let ok = 0;
    let failed = 0;
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        let k = w;
        while (Date.now() < until) {
          k += concurrency;
          const u = this.users[k % this.users.length]!;
          const client = createParleyClient({ url: this.url, cookies: 'jar' });
          const t0 = performance.now();
          try {
            await client.api.auth.login.mutate({ email: u.email, password: PASSWORD });
            latencies.push(performance.now() - t0);
            ok++;
          } catch {
            failed++;
          }
          await client.close();
        }
      }),
    );
    return { ok, failed, latencies };
  }

  async callSignaling(count: number, progress: (done: number) => void) {
    const setup: number[] = [];
    const offerAnswer: number[] = [];
    let failed = 0;
    let firstError: string | null = null;
    let done = 0;
    // Pairs of users who share a conversation: (0, 1), (4, 5), ... each pair calls one at a time.
    const pairs = this.groups
      .filter((g) => g.length >= 2)
      .map((g) => [g[0]!, g[1]!] as const)
      .slice(0, 8);
    const perPair = Math.ceil(count / Math.max(1, pairs.length));
    const SDP = `v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${'a=x\r\n'.repeat(60)}`;
    await Promise.all(
      pairs.map(async ([a, b]) => {
        const caller = this.users[a]!;
        const callee = this.users[b]!;
        const direct = await caller.client.api.conversations.openDirect.mutate({ userId: callee.id });
        for (let k = 0; k < perPair && done + failed < count; k++) {
          try {
            const t0 = performance.now();
            const call = await caller.client.api.calls.start.mutate({ conversationId: direct.id, media: 'audio' });
            await this.mailbox.expect(`call.incoming:${call.id}:${b}`);
            await callee.client.api.calls.accept.mutate({ callId: call.id });
            const accepted = await this.mailbox.expect(`call.accepted:${call.id}:${a}`);
            setup.push(accepted - t0);
            const t1 = performance.now();
            await caller.client.api.calls.signal.mutate({ callId: call.id, signal: { type: 'offer', sdp: SDP } });
            await this.mailbox.expect(`signal:offer:${call.id}:${b}`);
            await callee.client.api.calls.signal.mutate({ callId: call.id, signal: { type: 'answer', sdp: SDP } });
            const answered = await this.mailbox.expect(`signal:answer:${call.id}:${a}`);
            offerAnswer.push(answered - t1);
            await caller.client.api.calls.hangup.mutate({ callId: call.id });
            progress(++done);
          } catch (err) {
            failed++;
            firstError ??= err instanceof Error ? err.message : String(err);
          }
        }
      }),
    );
    return { setup, offerAnswer, failed, firstError };
  }

  async groupCallSignaling(count: number, progress: (done: number) => void) {
    const setup: number[] = [];
    const offerAnswer: number[] = [];
    let failed = 0;
    let firstError: string | null = null;
    let done = 0;
    let started = 0;
    const SDP = `v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${'a=x\r\n'.repeat(60)}`;
    // Groups of at least 4 members, each ringing its own calls one at a time; 4 people in each call.
    const groups = this.groups
      .map((g, i) => ({ g, i }))
      .filter(({ g }) => g.length >= 4)
      .slice(0, 4);
    const perGroup = Math.ceil(count / Math.max(1, groups.length));
    await Promise.all(
      groups.map(async ({ g, i }) => {
        const [a, ...rest] = g.slice(0, 4) as [number, number, number, number];
        const caller = this.users[a]!;
        const conversationId = this.conversationIds[i]!;
        for (let k = 0; k < perGroup && started < count; k++) {
          started++;
          try {
            const t0 = performance.now();
            const call = await caller.client.api.calls.start.mutate({ conversationId, media: 'video' });
            // Each joins as soon as it rings; the caller hears every join.
            await Promise.all(
              rest.map(async (m) => {
                await this.mailbox.expect(`call.incoming:${call.id}:${m}`);
                await this.users[m]!.client.api.calls.join.mutate({ callId: call.id });
              }),
            );
            const joined = await Promise.all(
              rest.map((m) => this.mailbox.expect(`call.joined:${this.users[m]!.id}:${call.id}:${a}`)),
            );
            setup.push(Math.max(...joined) - t0);
            const b = rest[0];
            const t1 = performance.now();
            await caller.client.api.calls.signal.mutate({
              callId: call.id,
              toUserId: this.users[b]!.id,
              signal: { type: 'offer', sdp: SDP },
            });
            await this.mailbox.expect(`signal:offer:${call.id}:${b}`);
            await this.users[b]!.client.api.calls.signal.mutate({
              callId: call.id,
              toUserId: caller.id,
              signal: { type: 'answer', sdp: SDP },
            });
            const answered = await this.mailbox.expect(`signal:answer:${call.id}:${a}`);
            offerAnswer.push(answered - t1);
            for (const m of [a, ...rest]) await this.users[m]!.client.api.calls.hangup.mutate({ callId: call.id });
            progress(++done);
          } catch (err) {
            failed++;
            firstError ??= err instanceof Error ? err.message : String(err);
          }
        }
      }),
    );
    return { setup, offerAnswer, failed, firstError };
  }

  async close() {
    await this.closeSockets();
    for (const f of this.followers) f.stop();
    await Promise.all(this.users.filter(Boolean).map((u) => u.client.close()));
  }
}

// ---------------------------------------------------------------------------------------------

type FloorMsg = { t: 'joined'; c: string } | { t: 'ack'; k: string } | { t: 'msg'; c: string; s: string; b: string };

export class FloorTarget implements Target {
  readonly name = 'floor' as const;
  groups: number[][] = [];
  onDeliver: (recipient: number, body: string) => void = () => {};
  private sockets: WebSocket[] = [];
  private extra: WebSocket[] = [];
  private acks = new Map<string, () => void>();

  constructor(readonly url: string) {}

  private connect(user: number, onMsg: (m: FloorMsg) => void): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/?user=${user}`);
      ws.on('message', (raw) => onMsg(JSON.parse(String(raw)) as FloorMsg));
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }

  private join(ws: WebSocket, conversations: string[], joined: Map<string, () => void>) {
    return Promise.all(
      conversations.map(
        (c) =>
          new Promise<void>((r) => {
            joined.set(c, r);
            ws.send(JSON.stringify({ t: 'join', c }));
          }),
      ),
    );
  }

  async setup(users: number, groupSize: number, progress: (done: number, total: number, what: string) => void) {
    this.groups = makeGroups(users, groupSize);
    const groupOf = new Map<number, number>();
    for (const [gi, g] of this.groups.entries()) for (const u of g) groupOf.set(u, gi);
    let done = 0;
    this.sockets = await Promise.all(
      Array.from({ length: users }, async (_, i) => {
        const joined = new Map<string, () => void>();
        const ws = await this.connect(i, (m) => {
          if (m.t === 'msg') this.onDeliver(i, m.b);
          else if (m.t === 'ack') this.acks.get(m.k)?.();
          else if (m.t === 'joined') joined.get(m.c)?.();
        });
        const g = groupOf.get(i);
        if (g !== undefined) await this.join(ws, [`g${g}`], joined);
        progress(++done, users, 'connected and joined');
        return ws;
      }),
    );
  }

  send(user: number, group: number, body: string) {
    return new Promise<void>((resolve) => {
      const k = randomUUID();
      this.acks.set(k, () => {
        this.acks.delete(k);
        resolve();
      });
      this.sockets[user]!.send(JSON.stringify({ t: 'send', c: `g${group}`, k, b: body }));
    });
  }

  async openSockets(count: number, progress: (done: number) => void) {
    let done = 0;
    await pool(
      Array.from({ length: count }, (_, i) => i),
      50,
      async (i) => {
        const joined = new Map<string, () => void>();
        const user = i % this.sockets.length;
        const ws = await this.connect(user, (m) => {
          if (m.t === 'joined') joined.get(m.c)?.();
        });
        const g = this.groups.findIndex((members) => members.includes(user));
        if (g >= 0) await this.join(ws, [`g${g}`], joined);
        this.extra.push(ws);
        progress(++done);
      },
    );
  }

  async closeSockets() {
    const extra = this.extra;
    this.extra = [];
    await closeAll(extra);
  }

  async close() {
    await this.closeSockets();
    await closeAll(this.sockets);
  }
}

function closeAll(sockets: WebSocket[]) {
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((r) => {
          if (ws.readyState === ws.CLOSED) return r();
          ws.once('close', () => r());
          ws.close();
          setTimeout(() => {
            ws.terminate();
            r();
          }, 2_000).unref();
        }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------

export class PeerTarget implements Target {
  readonly name = 'peer' as const;
  groups: number[][] = [];
  onDeliver: (recipient: number, body: string) => void = () => {};
  private userIds: number[] = [];
  private conversationIds: number[] = [];
  private sockets: Socket[] = [];
  private extra: Socket[] = [];

  constructor(readonly url: string) {}

  private async post<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  private connect(userId: number, onMessage?: (body: string) => void): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = io(this.url, { auth: { userId }, transports: ['websocket'], reconnection: false, forceNew: true });
      if (onMessage) socket.on('message', (row: { body: string }) => onMessage(row.body));
      socket.once('ready', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  }

  async setup(users: number, groupSize: number, progress: (done: number, total: number, what: string) => void) {
    let done = 0;
    this.userIds = new Array(users);
    await pool(
      Array.from({ length: users }, (_, i) => i),
      8,
      async (i) => {
        this.userIds[i] = (await this.post<{ id: number }>('/api/users', { name: `Bench ${i}` })).id;
        progress(++done, users, 'users created');
      },
    );
    this.groups = makeGroups(users, groupSize);
    this.conversationIds = new Array(this.groups.length);
    await pool(this.groups, 8, async (members, g) => {
      this.conversationIds[g] = (
        await this.post<{ id: number }>('/api/conversations', {
          title: `bench ${g}`,
          memberIds: members.map((m) => this.userIds[m]),
        })
      ).id;
    });
    done = 0;
    this.sockets = await Promise.all(
      this.userIds.map(async (id, i) => {
        const s = await this.connect(id, (body) => this.onDeliver(i, body));
        progress(++done, users, 'connected');
        return s;
      }),
    );
  }

  async send(user: number, group: number, body: string) {
    const r = (await this.sockets[user]!.emitWithAck('send', {
      conversationId: this.conversationIds[group],
      clientId: randomUUID(),
      body,
    })) as { error?: string };
    if (r.error) throw new Error(r.error);
  }

  async openSockets(count: number, progress: (done: number) => void) {
    let done = 0;
    await pool(
      Array.from({ length: count }, (_, i) => i),
      50,
      async (i) => {
        this.extra.push(await this.connect(this.userIds[i % this.userIds.length]!));
        progress(++done);
      },
    );
  }

  async closeSockets() {
    for (const s of this.extra) s.disconnect();
    this.extra = [];
  }

  async close() {
    await this.closeSockets();
    for (const s of this.sockets) s.disconnect();
  }
}
