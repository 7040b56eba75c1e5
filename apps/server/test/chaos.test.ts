/**
 * Chaos: 100 clients send 10,000 messages across direct and group conversations through two
 * server processes while random sockets drop, one instance is SIGKILLed and restarted, and Redis
 * restarts. Afterwards every conversation's history and every client's received stream must hold
 * every message exactly once, in order. The schedule is seeded: PARLEY_CHAOS_SEED replays one.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createParleyClient,
  followEvents,
  type EventFollower,
  type ParleyClient,
  type RouterOutputs,
} from '@parley/client';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  signUp,
  sleep,
  startTestServer,
  TEST_PG_URL,
  uniqueEmail,
  waitFor,
  type TestServer,
} from './helpers.js';
import { hasCommand, PrivateRedis, runningProcs, seededRandom, ServerProcess, freePort } from './process-helpers.js';

type Message = RouterOutputs['messages']['send'];

const CLIENTS = 100;
const MESSAGES_PER_CLIENT = 100;
const TOTAL = CLIENTS * MESSAGES_PER_CLIENT;
const SEED = Number(process.env.PARLEY_CHAOS_SEED || 20261125);
/** A send whose answer is lost is retried with the same clientId: this long at most per attempt. */
const ATTEMPT_TIMEOUT_MS = 15_000;

const CAN_RUN = Boolean(TEST_PG_URL) && hasCommand('redis-server');
if (process.env.CI && !CAN_RUN)
  throw new Error('The chaos test needs PostgreSQL (PARLEY_TEST_PG_URL) and redis-server under CI');

interface Peer {
  index: number;
  userId: string;
  client: ParleyClient;
  server: ServerProcess;
  /** The client's current WebSocket, so the chaos can cut it. */
  socket: WebSocket | null;
  socketsOpened: number;
  conversations: string[];
  /** Conversations this client has heard of through `conversation.updated`. */
  known: Set<string>;
  /** The seqs of `message.new` per conversation, in the order the client received them. */
  received: Map<string, number[]>;
  follower: EventFollower | null;
}

/**
 * The `ws` WebSocket, remembering each socket a client opens so that the test can terminate it.
 * While `offline` is set, connections go to a port where nothing listens: the network is down.
 */
function trackingWebSocket(peer: Pick<Peer, 'socket' | 'socketsOpened'> & { offline?: boolean }) {
  class Tracked extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(peer.offline ? 'ws://127.0.0.1:1/trpc' : address, protocols);
      peer.socket = this;
      this.once('open', () => peer.socketsOpened++);
    }
  }
  // The `ws` package implements the WebSocket the client needs; its types differ only in extras.
  return Tracked as unknown as typeof globalThis.WebSocket;
}

const errorCodeOf = (err: unknown) => (err as { data?: { code?: string } }).data?.code;

/** Set-up calls, retried when a dropped socket lost their answer. */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= 20 || errorCodeOf(err)) throw err;
      await sleep(100);
    }
  }
}

/** Answers that no retry can change: the test is wrong or the server is. */
const FINAL_ERRORS = new Set([
  'BAD_REQUEST',
  'NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHORIZED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
]);

describe.skipIf(!CAN_RUN)('chaos: two instances, dropped sockets, SIGKILL, Redis restart', () => {
  let dir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: PrivateRedis;
  const servers: ServerProcess[] = [];
  const peers: Peer[] = [];
  /** While true, random sockets drop. */
  let chaos = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-chaos-'));
    database = await createTestDatabase();
    redis = await PrivateRedis.start();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '6',
      REDIS_URL: redis.url,
      JWT_SECRET: randomUUID() + randomUUID(),
      TURN_SECRET: randomUUID(),
      ALLOWED_ORIGINS: 'http://127.0.0.1',
      BCRYPT_COST: '4',
      // 100 users sign up from one IP and each sends as fast as it can.
      RATE_LIMIT_SCALE: '1000000',
      LOG_LEVEL: 'warn',
      PRESENCE_HEARTBEAT_MS: '1000',
      PRESENCE_DEAD_AFTER_MS: '3000',
      DATA_DIR: dir,
    };
    for (const name of ['chaos-1', 'chaos-2']) servers.push(new ServerProcess(name, await freePort(), env));
    // Both start at once: the migration lock serializes them.
    await Promise.all(servers.map((s) => s.start()));
  }, 120_000);

  afterAll(async () => {
    chaos = false;
    for (const p of peers) p.follower?.stop();
    await Promise.all(peers.map((p) => p.client.close().catch(() => {})));
    await Promise.all(runningProcs().map((p) => p.stop('SIGTERM', 10_000)));
    await database?.drop().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it(`loses, repeats and reorders none of ${TOTAL} messages`, async () => {
    const started = Date.now();
    // Separate streams, so that the blows do not depend on how many drops happened before them.
    const dropRng = seededRandom(SEED);
    const blowRng = seededRandom(SEED + 1);

    // 100 users, alternately on each instance; every client has one socket for all it does.
    for (let i = 0; i < CLIENTS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, CLIENTS - i) }, async (_, k) => {
          const index = i + k;
          const server = servers[index % 2]!;
          const holder = { socket: null as WebSocket | null, socketsOpened: 0 };
          const client = createParleyClient({
            url: server.url,
            cookies: 'jar',
            transport: 'ws',
            WebSocket: trackingWebSocket(holder),
            retryDelayMs: (attempt) => Math.min(100 * 2 ** attempt, 1000),
          });
          const r = await client.api.auth.register.mutate({
            email: uniqueEmail('chaos'),
            password: 'correct horse battery',
            displayName: `Chaos ${index}`,
          });
          // `holder` becomes the peer itself, so the socket class keeps writing where the test reads.
          const peer: Peer = Object.assign(holder, {
            index,
            userId: r.user.id,
            client,
            server,
            conversations: [],
            known: new Set<string>(),
            received: new Map<string, number[]>(),
            follower: null,
          });
          return peer;
        }),
      );
      peers.push(...batch);
    }

    // Subscriptions first, so that every message of the test reaches a live or resuming stream.
    let startedCount = 0;
    for (const peer of peers) {
      let counted = false;
      peer.follower = followEvents(peer.client.api, {
        onStarted: () => {
          if (!counted) startedCount++;
          counted = true;
        },
        onEvent: (event) => {
          if (event.type === 'conversation.updated') peer.known.add(event.conversation.id);
          if (event.type !== 'message.new') return;
          const seqs = peer.received.get(event.message.conversationId) ?? [];
          seqs.push(event.message.seq);
          peer.received.set(event.message.conversationId, seqs);
        },
      });
    }
    // Sockets drop from now until the last message is acknowledged: stream starts, conversation
    // set-up and sends all live through it.
    chaos = true;
    let drops = 0;
    const dropper = (async () => {
      while (chaos) {
        await sleep(50 + dropRng.int(150));
        const peer = dropRng.pick(peers);
        if (peer.socket?.readyState === WebSocket.OPEN) {
          peer.socket.terminate();
          drops++;
        }
      }
    })();
    await waitFor(() => startedCount === CLIENTS, { timeoutMs: 60_000, intervalMs: 50 });

    // Direct conversations in a ring (neighbours sit on different instances), groups of 10 in
    // blocks and groups of 20 across blocks: every client is in 2 direct conversations and 2 groups.
    const conversations = new Map<string, { members: Peer[]; kind: 'direct' | 'group' }>();
    const addConversation = (id: string, members: Peer[], kind: 'direct' | 'group') => {
      conversations.set(id, { members, kind });
      for (const m of members) m.conversations.push(id);
    };
    await Promise.all(
      peers.map(async (peer, i) => {
        const other = peers[(i + 1) % CLIENTS]!;
        const conv = await retried(() => peer.client.api.conversations.openDirect.mutate({ userId: other.userId }));
        return { conv, members: [peer, other] };
      }),
    ).then((rows) => {
      for (const r of rows) addConversation(r.conv.id, r.members, 'direct');
    });
    const groups = [
      ...Array.from({ length: CLIENTS / 10 }, (_, g) => peers.slice(g * 10, g * 10 + 10)),
      ...Array.from({ length: 5 }, (_, g) => peers.filter((p) => p.index % 5 === g)),
    ];
    await Promise.all(
      groups.map(async (members, g) => {
        // A retry after a lost answer may make a second, empty group: harmless here.
        const conv = await retried(() =>
          members[0]!.client.api.conversations.createGroup.mutate({
            title: `Chaos group ${g}`,
            memberIds: members.slice(1).map((m) => m.userId),
          }),
        );
        return { conv, members };
      }),
    ).then((rows) => {
      for (const r of rows) addConversation(r.conv.id, r.members, 'group');
    });
    // Every stream has seen its conversations created: it is live and holds a resume position.
    const unheardOf = () =>
      peers.flatMap((p) =>
        p.conversations.filter((c) => !p.known.has(c)).map((c) => `client ${p.index} never heard of ${c}`),
      );
    await waitFor(() => unheardOf().length === 0, { timeoutMs: 30_000, intervalMs: 50 }).catch(() => {});
    expect(unheardOf()).toEqual([]);
    const setupMs = Date.now() - started;

    // The sends: each client sends its messages one after another, round-robin over its
    // conversations, retrying an unanswered send with the same clientId until it is acknowledged.
    const stats = { attempts: 0, retries: 0, timeouts: 0, fatal: [] as string[] };
    const acked = new Map<string, Message>();
    const sentBy = new Map<string, { peer: Peer; conversationId: string; k: number }>();
    let sending = true;

    /** The acknowledged message, or null (and a note in `stats.fatal`) when retrying cannot help. */
    const sendUntilAcked = async (
      peer: Peer,
      conversationId: string,
      clientId: string,
      body: string,
    ): Promise<Message | null> => {
      for (let attempt = 0; ; attempt++) {
        stats.attempts++;
        if (attempt > 0) stats.retries++;
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          return await Promise.race([
            peer.client.api.messages.send.mutate({ conversationId, clientId, body }),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                stats.timeouts++;
                reject(new Error('send timed out'));
              }, ATTEMPT_TIMEOUT_MS);
            }),
          ]);
        } catch (err) {
          const code = errorCodeOf(err);
          if ((code && FINAL_ERRORS.has(code)) || attempt >= 100) {
            stats.fatal.push(
              `client ${peer.index} gave up after ${attempt + 1} attempts: ${code ?? ''} ${(err as Error).message}`,
            );
            return null;
          }
          await sleep(50 + (attempt % 5) * 50);
        } finally {
          clearTimeout(timer);
        }
      }
    };

    const senders = peers.map(async (peer) => {
      for (let k = 0; k < MESSAGES_PER_CLIENT; k++) {
        const conversationId = peer.conversations[k % peer.conversations.length]!;
        const clientId = randomUUID();
        sentBy.set(clientId, { peer, conversationId, k });
        const message = await sendUntilAcked(peer, conversationId, clientId, `client ${peer.index} message ${k}`);
        if (message) acked.set(clientId, message);
      }
    });

    // The chaos, driven by progress so that each blow lands in the middle of the sends.
    const chaosLog: string[] = [];
    let blowsDuringSends = 0;
    const at = (what: string) => {
      if (sending) blowsDuringSends++;
      chaosLog.push(`${((Date.now() - started) / 1000).toFixed(1)}s (${acked.size} acked): ${what}`);
    };
    const progress: number[] = [];
    const progressTimer = setInterval(() => progress.push(acked.size), 5000);
    const victim = servers[blowRng.int(2)]!;
    const socketsAtKill = new Map<Peer, number>();
    const killer = (async () => {
      await waitFor(() => acked.size >= TOTAL * 0.2 || !sending, { timeoutMs: 170_000, intervalMs: 20 });
      at(`SIGKILL ${victim.name}`);
      for (const p of peers) socketsAtKill.set(p, p.socketsOpened);
      await victim.kill();
      await sleep(300 + blowRng.int(700));
      await victim.start();
      at(`${victim.name} restarted`);

      await waitFor(() => acked.size >= TOTAL * 0.55 || !sending, { timeoutMs: 170_000, intervalMs: 20 });
      at('Redis killed');
      await redis.restart('SIGKILL', 300 + blowRng.int(700));
      at('Redis restarted');
    })();

    try {
      await Promise.all(senders);
    } finally {
      sending = false;
      chaos = false;
      clearInterval(progressTimer);
    }
    await Promise.all([dropper, killer]);
    const sendMs = Date.now() - started - setupMs;

    // Every stream catches up: each member has as many messages of each conversation as were acked.
    const ackedPerConversation = new Map<string, number>();
    for (const clientId of acked.keys()) {
      const { conversationId } = sentBy.get(clientId)!;
      ackedPerConversation.set(conversationId, (ackedPerConversation.get(conversationId) ?? 0) + 1);
    }
    const caughtUp = () =>
      peers.every((p) =>
        p.conversations.every((c) => new Set(p.received.get(c)).size >= (ackedPerConversation.get(c) ?? 0)),
      );
    await waitFor(caughtUp, { timeoutMs: 60_000, intervalMs: 100 }).catch(() => {});
    // Late duplicates would arrive now.
    await sleep(1000);

    // The history of record, every page of it.
    const stored = new Map<string, Message[]>();
    for (const [id, { members }] of conversations) {
      const items: Message[] = [];
      for (let before: number | undefined; ; ) {
        const page = await members[0]!.client.api.messages.list.query({
          conversationId: id,
          limit: 100,
          beforeSeq: before,
        });
        items.unshift(...page.items);
        if (!page.hasMore) break;
        before = page.items[0]!.seq;
      }
      stored.set(id, items);
    }

    // Count.
    const counts = {
      sent: sentBy.size,
      acknowledged: acked.size,
      stored: 0,
      deliveriesExpected: 0,
      deliveriesReceived: 0,
    };
    const faults = { lost: 0, duplicated: 0, outOfOrder: 0 };
    const examples: string[] = [];
    const fault = (kind: keyof typeof faults, what: string) => {
      faults[kind]++;
      if (examples.length < 20) examples.push(`${kind}: ${what}`);
    };
    for (const [conversationId, items] of stored) {
      counts.stored += items.length;
      const byClientId = new Map<string, Message>();
      items.forEach((m, i) => {
        if (m.seq !== i + 1) fault('outOfOrder', `history of ${conversationId}: position ${i + 1} holds seq ${m.seq}`);
        if (byClientId.has(m.clientId))
          fault('duplicated', `history of ${conversationId}: clientId ${m.clientId} twice`);
        byClientId.set(m.clientId, m);
        if (!sentBy.has(m.clientId))
          fault('duplicated', `history of ${conversationId}: a message nobody sent (${m.clientId})`);
      });
      // Each client sent one message at a time, so its messages must follow each other in send order.
      const lastK = new Map<string, number>();
      for (const m of items) {
        const origin = sentBy.get(m.clientId);
        if (!origin) continue;
        const prev = lastK.get(m.senderId);
        if (prev !== undefined && origin.k < prev)
          fault(
            'outOfOrder',
            `history of ${conversationId}: client ${origin.peer.index} message ${origin.k} after ${prev}`,
          );
        lastK.set(m.senderId, origin.k);
      }
    }
    for (const [clientId, message] of acked) {
      const origin = sentBy.get(clientId)!;
      const found = stored.get(origin.conversationId)?.find((m) => m.clientId === clientId);
      if (!found) fault('lost', `acknowledged message ${clientId} is not in the history`);
      else if (found.id !== message.id || found.seq !== message.seq)
        fault('duplicated', `acknowledged ${message.id}#${message.seq}, stored ${found.id}#${found.seq}`);
    }
    for (const peer of peers) {
      for (const conversationId of peer.conversations) {
        const expected = stored.get(conversationId)?.length ?? 0;
        const seqs = peer.received.get(conversationId) ?? [];
        counts.deliveriesExpected += expected;
        counts.deliveriesReceived += seqs.length;
        const seen = new Set<number>();
        let max = 0;
        for (const seq of seqs) {
          if (seen.has(seq)) fault('duplicated', `client ${peer.index} received seq ${seq} of ${conversationId} twice`);
          else if (seq < max)
            fault('outOfOrder', `client ${peer.index} received seq ${seq} of ${conversationId} after ${max}`);
          seen.add(seq);
          max = Math.max(max, seq);
        }
        for (let seq = 1; seq <= expected; seq++)
          if (!seen.has(seq)) fault('lost', `client ${peer.index} never received seq ${seq} of ${conversationId}`);
      }
    }

    const totalMs = Date.now() - started;
    // The killed instance's clients all came back to it (they have no other URL).
    const reconnected = peers.filter(
      (p) => p.server === victim && p.socketsOpened > (socketsAtKill.get(p) ?? Infinity),
    ).length;
    const rows: [string, string | number][] = [
      ['sent (distinct clientIds)', counts.sent],
      ['send attempts / retries / timeouts', `${stats.attempts} / ${stats.retries} / ${stats.timeouts}`],
      ['acknowledged', counts.acknowledged],
      ['stored', counts.stored],
      ['delivered (expected / received)', `${counts.deliveriesExpected} / ${counts.deliveriesReceived}`],
      ['lost', faults.lost],
      ['duplicated', faults.duplicated],
      ['out of order', faults.outOfOrder],
      [
        'conversations (direct + group)',
        `${[...conversations.values()].filter((c) => c.kind === 'direct').length} + ${[...conversations.values()].filter((c) => c.kind === 'group').length}`,
      ],
      ['sockets dropped / opened', `${drops} / ${peers.reduce((n, p) => n + p.socketsOpened, 0)}`],
      ['seed', SEED],
      ['acked every 5 s', progress.join(' ')],
      [
        'time (setup / sends / total)',
        `${(setupMs / 1000).toFixed(1)}s / ${(sendMs / 1000).toFixed(1)}s / ${(totalMs / 1000).toFixed(1)}s`,
      ],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(
      [
        '',
        'Chaos test',
        ...chaosLog.map((l) => `  ${l}`),
        ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
        ...examples.map((e) => `  ! ${e}`),
        ...stats.fatal.slice(0, 5).map((e) => `  ! ${e}`),
        '',
      ].join('\n'),
    );

    expect(stats.fatal).toEqual([]);
    // The chaos did happen, during the sends, and the killed instance's clients came back.
    expect(blowsDuringSends).toBe(4);
    expect(drops).toBeGreaterThan(10);
    expect(reconnected).toBe(CLIENTS / 2);
    expect(counts.sent).toBe(TOTAL);
    expect(counts.acknowledged).toBe(TOTAL);
    expect(counts.stored).toBe(TOTAL);
    expect(faults).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
    expect(counts.deliveriesReceived).toBe(counts.deliveriesExpected);
  }, 175_000);
});

describe('a stream dropped before its first event', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite' });
  });
  afterAll(() => t?.close());

  it('still receives what was sent while it was disconnected', async () => {
    const network = { socket: null as WebSocket | null, socketsOpened: 0, offline: false };
    const quiet = await signUp(t, 'Quiet', {
      transport: 'ws',
      WebSocket: trackingWebSocket(network),
      retryDelayMs: () => 50,
    });
    const talker = await signUp(t, 'Talker');
    const conv = await talker.client.api.conversations.openDirect.mutate({ userId: quiet.user.id });

    // A fresh stream: nothing has happened since it started, so it has seen no event id yet.
    const seqs: number[] = [];
    let starts = 0;
    const follower = followEvents(quiet.client.api, {
      onStarted: () => starts++,
      onEvent: (e) => void (e.type === 'message.new' && seqs.push(e.message.seq)),
    });
    await waitFor(() => starts === 1);

    network.offline = true;
    network.socket!.terminate();
    await talker.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: 'while you were away',
    });
    network.offline = false;
    await waitFor(() => starts === 2);
    await talker.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: 'welcome back',
    });

    await waitFor(() => seqs.length >= 2, { timeoutMs: 5000 }).catch(() => {});
    expect(seqs).toEqual([1, 2]);
    follower.stop();
  });
});
