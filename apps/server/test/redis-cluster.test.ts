/**
 * Two Parley processes on a real 3-node Redis Cluster (REDIS_CLUSTER_NODES): the bus runs on
 * sharded pub/sub with one channel per event-log partition spread over the shards; messages,
 * presence and typing cross instances; and a cluster node is SIGKILLed and started again (same
 * port, same nodes.conf, its data gone) in the middle of the sends. Every client follows by
 * cursor: afterwards each holds every message of its conversations exactly once, in order, and
 * the instances are subscribed to every channel again (delivery is live, not only polled).
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
import { ConfigError, loadConfig } from '@parley/config';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, sleep, TEST_PG_URL, uniqueEmail, waitFor } from './helpers.js';
import { freePort, hasCommand, PrivateRedisCluster, ServerProcess } from './process-helpers.js';

type Message = RouterOutputs['messages']['send'];

const CLIENTS = 20;
const MESSAGES_PER_CLIENT = 40;
const TOTAL = CLIENTS * MESSAGES_PER_CLIENT;
const PARTITIONS = 16;

const CAN_RUN = Boolean(TEST_PG_URL) && hasCommand('redis-server') && hasCommand('redis-cli');
if (process.env.CI && !CAN_RUN)
  throw new Error('The Redis Cluster test needs PostgreSQL (PARLEY_TEST_PG_URL), redis-server and redis-cli under CI');

interface Peer {
  index: number;
  userId: string;
  client: ParleyClient;
  server: ServerProcess;
  conversations: string[];
  known: Set<string>;
  /** The seqs of `message.new` per conversation, in the order received. */
  received: Map<string, number[]>;
  /** Who was seen typing, per conversation. */
  typing: { conversationId: string; userId: string }[];
  follower: EventFollower | null;
}

const errorCodeOf = (err: unknown) => (err as { data?: { code?: string } }).data?.code;
const FINAL_ERRORS = new Set([
  'BAD_REQUEST',
  'NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHORIZED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
]);

/** A call retried while the cluster cannot answer it (its slots are down for a moment). */
async function retried<T>(call: () => Promise<T>, attempts = 200): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const code = errorCodeOf(err);
      if (attempt >= attempts || (code && FINAL_ERRORS.has(code))) throw err;
      await sleep(50 + (attempt % 5) * 50);
    }
  }
}

describe.skipIf(!CAN_RUN)('a Redis Cluster: sharded bus, two instances, a node restart', () => {
  let dir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let cluster: PrivateRedisCluster;
  const servers: ServerProcess[] = [];
  const peers: Peer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cluster-'));
    [database, cluster] = await Promise.all([createTestDatabase(), PrivateRedisCluster.start(3)]);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '6',
      REDIS_CLUSTER_NODES: cluster.nodes,
      EVENT_PARTITIONS: String(PARTITIONS),
      JWT_SECRET: randomUUID() + randomUUID(),
      TURN_SECRET: randomUUID(),
      ALLOWED_ORIGINS: 'http://127.0.0.1',
      BCRYPT_COST: '4',
      RATE_LIMIT_SCALE: '1000',
      LOG_LEVEL: process.env.PARLEY_CLUSTER_LOG ?? 'warn',
      PRESENCE_HEARTBEAT_MS: '500',
      PRESENCE_DEAD_AFTER_MS: '5000',
      DATA_DIR: dir,
    };
    for (const name of ['cluster-1', 'cluster-2']) servers.push(new ServerProcess(name, await freePort(), env));
    await Promise.all(servers.map((s) => s.start()));
  }, 120_000);

  afterAll(async () => {
    // What the instances logged (warn and above), shown when the test fails.
    for (const s of servers) console.log(`--- ${s.name}\n${s.output().slice(-4000)}`);
    for (const p of peers) p.follower?.stop();
    await Promise.all(peers.map((p) => p.client.close().catch(() => {})));
    await Promise.all(servers.map((s) => s.stop()));
    await cluster?.stop();
    await database?.drop().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** Per node: its shard channels and how many subscribers each has. */
  async function shardSubscriptions() {
    return Promise.all(
      cluster.ports.map(async (_, i) => {
        const channels = (await cluster.command(i, 'PUBSUB', 'SHARDCHANNELS')) as string[];
        if (channels.length === 0) return new Map<string, number>();
        const flat = (await cluster.command(i, 'PUBSUB', 'SHARDNUMSUB', ...channels)) as (string | number)[];
        const counts = new Map<string, number>();
        for (let k = 0; k < flat.length; k += 2) counts.set(String(flat[k]), Number(flat[k + 1]));
        return counts;
      }),
    );
  }
  /** Both instances hold every channel: each partition's and each notice's (sessions, typing, ...). */
  let lastSeen = '';
  const fullySubscribed = async () => {
    const perNode = await shardSubscriptions();
    const all = new Map(perNode.flatMap((m) => [...m]));
    lastSeen = JSON.stringify(perNode.map((m) => Object.fromEntries(m)));
    const events = [...all.keys()].filter((c) => /:events\.\d+$/.test(c));
    const notices = ['sessions', 'typing', 'calls', 'presence'].filter((n) =>
      [...all.keys()].some((c) => c.endsWith(`:${n}`)),
    );
    return events.length === PARTITIONS && notices.length === 4 && [...all.values()].every((n) => n === 2)
      ? perNode
      : null;
  };
  const whenFullySubscribed = () =>
    waitFor(fullySubscribed, { timeoutMs: 30_000, intervalMs: 100 }).catch(() => {
      throw new Error(`Not every channel has both instances as subscribers: ${lastSeen}`);
    });

  it(`fans out across instances and loses, repeats and reorders none of ${TOTAL} messages over a node restart`, async () => {
    // The bus: every partition's channel and the four notice channels, subscribed by both
    // instances, on the shard that owns the channel's slot: partitions spread over the shards.
    const perNode = await whenFullySubscribed();
    const eventChannelsPerNode = perNode.map((m) => [...m.keys()].filter((c) => /:events\.\d+$/.test(c)).length);
    expect(eventChannelsPerNode.reduce((a, b) => a + b, 0)).toBe(PARTITIONS);
    expect(eventChannelsPerNode.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);

    for (let index = 0; index < CLIENTS; index++) {
      const server = servers[index % 2]!;
      const client = createParleyClient({
        url: server.url,
        cookies: 'jar',
        transport: 'ws',
        // The `ws` package implements the WebSocket the client needs; its types differ only in extras.
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        retryDelayMs: (attempt) => Math.min(100 * 2 ** attempt, 1000),
      });
      const r = await client.api.auth.register.mutate({
        email: uniqueEmail('cluster'),
        password: 'correct horse battery',
        displayName: `Peer ${index}`,
      });
      peers.push({
        index,
        userId: r.user.id,
        client,
        server,
        conversations: [],
        known: new Set(),
        received: new Map(),
        typing: [],
        follower: null,
      });
    }
    let started = 0;
    for (const peer of peers) {
      let counted = false;
      peer.follower = followEvents(peer.client.api, {
        onStarted: () => {
          if (!counted) started++;
          counted = true;
        },
        onEvent: (event) => {
          if (event.type === 'conversation.updated') peer.known.add(event.conversation.id);
          if (event.type === 'typing') peer.typing.push({ conversationId: event.conversationId, userId: event.userId });
          if (event.type !== 'message.new') return;
          const seqs = peer.received.get(event.message.conversationId) ?? [];
          seqs.push(event.message.seq);
          peer.received.set(event.message.conversationId, seqs);
        },
      });
    }
    await waitFor(() => started === CLIENTS, { timeoutMs: 30_000, intervalMs: 50 });

    // A direct conversation per neighbour pair (always across instances) and two groups of ten.
    const conversations = new Map<string, Peer[]>();
    const add = (id: string, members: Peer[]) => {
      conversations.set(id, members);
      for (const m of members) m.conversations.push(id);
    };
    for (const [i, peer] of peers.entries()) {
      const other = peers[(i + 1) % CLIENTS]!;
      add((await peer.client.api.conversations.openDirect.mutate({ userId: other.userId })).id, [peer, other]);
    }
    for (const members of [peers.slice(0, 10), peers.slice(10)]) {
      const conv = await members[0]!.client.api.conversations.createGroup.mutate({
        title: 'Shards',
        memberIds: members.slice(1).map((m) => m.userId),
      });
      add(conv.id, members);
    }
    const unheardOf = () => peers.flatMap((p) => p.conversations.filter((c) => !p.known.has(c)));
    await waitFor(() => unheardOf().length === 0, { timeoutMs: 20_000, intervalMs: 50 });

    // Typing and presence cross instances: peer 1 is on the other instance than peer 0.
    const [p0, p1] = [peers[0]!, peers[1]!];
    const direct01 = p0.conversations[0]!;
    const typedAcross = async (from: Peer, to: Peer) => {
      const before = to.typing.length;
      await retried(() => from.client.api.messages.typing.mutate({ conversationId: direct01 }));
      return to.typing.slice(before).some((t) => t.userId === from.userId && t.conversationId === direct01);
    };
    expect(await waitFor(() => typedAcross(p1, p0), { timeoutMs: 10_000, intervalMs: 200 })).toBe(true);
    expect((await p0.client.api.users.byId.query({ id: p1.userId })).online).toBe(true);
    const presence: { userId: string; online: boolean }[] = [];
    const watching = p0.client.api.presence.onChange.subscribe(undefined, {
      onData: (e) => void (e.type === 'update' && presence.push({ userId: e.userId, online: e.online })),
    });
    // A newcomer on the other instance, in a conversation with peer 0: peer 0 sees them come online.
    const newcomer = createParleyClient({
      url: servers[1]!.url,
      cookies: 'jar',
      transport: 'ws',
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      retryDelayMs: () => 100,
    });
    const nu = await newcomer.api.auth.register.mutate({
      email: uniqueEmail('newcomer'),
      password: 'correct horse battery',
      displayName: 'Newcomer',
    });
    await newcomer.api.conversations.openDirect.mutate({ userId: p0.userId });
    await sleep(200);
    const newcomerFollower = followEvents(newcomer.api, { onEvent: () => {} });
    await waitFor(() => presence.some((c) => c.userId === nu.user.id && c.online), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });

    // The sends, one after another per client, retried with the same clientId until acknowledged.
    const acked = new Map<string, Message>();
    const sentBy = new Map<string, { peer: Peer; conversationId: string; k: number }>();
    const failures = { attempts: 0, fatal: [] as string[] };
    const senders = peers.map(async (peer) => {
      for (let k = 0; k < MESSAGES_PER_CLIENT; k++) {
        const conversationId = peer.conversations[k % peer.conversations.length]!;
        const clientId = randomUUID();
        sentBy.set(clientId, { peer, conversationId, k });
        try {
          const message = await retried(() => {
            failures.attempts++;
            return peer.client.api.messages.send.mutate({
              conversationId,
              clientId,
              body: `peer ${peer.index} message ${k}`,
            });
          });
          acked.set(clientId, message);
        } catch (err) {
          failures.fatal.push(`peer ${peer.index} message ${k}: ${errorCodeOf(err) ?? ''} ${(err as Error).message}`);
        }
      }
    });

    // The node holding presence's slot (the hardest one to lose: every instance's presence state
    // lives there) dies in the middle of the sends and comes back empty.
    const keysPerNode = await Promise.all(
      cluster.ports.map((_, i) => cluster.command(i, 'KEYS', '*presence*') as Promise<string[]>),
    );
    const victim = keysPerNode.findIndex((keys) => keys.length > 0);
    expect(victim).toBeGreaterThanOrEqual(0);
    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) =>
      timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s (${acked.size} acked): ${what}`);
    let sending = true;
    const blow = (async () => {
      await waitFor(() => acked.size >= TOTAL * 0.3 || !sending, { timeoutMs: 120_000, intervalMs: 20 });
      mark(`SIGKILL node ${cluster.ports[victim]}`);
      const ackedAtKill = acked.size;
      await cluster.kill(victim);
      await sleep(1000);
      await cluster.restart(victim);
      mark('node back, cluster whole');
      return ackedAtKill;
    })();
    await Promise.all(senders).finally(() => (sending = false));
    const ackedAtKill = await blow;
    mark('all sends acknowledged');

    // Every stream catches up by cursor.
    const ackedPer = new Map<string, number>();
    for (const { conversationId } of sentBy.values())
      ackedPer.set(conversationId, (ackedPer.get(conversationId) ?? 0) + 1);
    const caughtUp = () =>
      peers.every((p) => p.conversations.every((c) => new Set(p.received.get(c)).size >= (ackedPer.get(c) ?? 0)));
    await waitFor(caughtUp, { timeoutMs: 30_000, intervalMs: 100 }).catch(() => {});
    await sleep(500);

    const faults = { lost: 0, duplicated: 0, outOfOrder: 0 };
    const examples: string[] = [];
    const fault = (kind: keyof typeof faults, what: string) => {
      faults[kind]++;
      if (examples.length < 10) examples.push(`${kind}: ${what}`);
    };
    let stored = 0;
    const historyIds = new Map<string, Set<string>>();
    for (const [conversationId, members] of conversations) {
      const items: Message[] = [];
      for (let before: number | undefined; ; ) {
        const page = await members[0]!.client.api.messages.list.query({
          conversationId,
          limit: 100,
          beforeSeq: before,
        });
        items.unshift(...page.items);
        if (!page.hasMore) break;
        before = page.items[0]!.seq;
      }
      stored += items.length;
      historyIds.set(conversationId, new Set(items.map((m) => m.id)));
      items.forEach((m, i) => {
        if (m.seq !== i + 1) fault('outOfOrder', `history of ${conversationId}: position ${i + 1} holds seq ${m.seq}`);
      });
      if (new Set(items.map((m) => m.clientId)).size !== items.length)
        fault('duplicated', `history of ${conversationId} repeats a clientId`);
      for (const member of members) {
        const seqs = member.received.get(conversationId) ?? [];
        let max = 0;
        const seen = new Set<number>();
        for (const seq of seqs) {
          if (seen.has(seq)) fault('duplicated', `peer ${member.index} received seq ${seq} of ${conversationId} twice`);
          else if (seq < max)
            fault('outOfOrder', `peer ${member.index} received seq ${seq} of ${conversationId} after ${max}`);
          seen.add(seq);
          max = Math.max(max, seq);
        }
        for (let seq = 1; seq <= items.length; seq++)
          if (!seen.has(seq)) fault('lost', `peer ${member.index} never received seq ${seq} of ${conversationId}`);
      }
    }
    for (const [clientId, message] of acked) {
      const { conversationId } = sentBy.get(clientId)!;
      if (!historyIds.get(conversationId)?.has(message.id))
        fault('lost', `acknowledged ${clientId} is not in the history`);
    }

    // After the restart: both instances are subscribed to every channel again, presence was
    // rebuilt by the heartbeats (the node came back empty), and typing still crosses instances.
    await whenFullySubscribed();
    await waitFor(async () => (await p0.client.api.users.byId.query({ id: nu.user.id })).online, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(await waitFor(() => typedAcross(p1, p0), { timeoutMs: 10_000, intervalMs: 200 })).toBe(true);

    console.log(
      [
        '',
        'Redis Cluster test',
        ...timeline.map((l) => `  ${l}`),
        `  event channels per node: ${eventChannelsPerNode.join(' / ')}`,
        `  sent ${sentBy.size}, acknowledged ${acked.size} (${ackedAtKill} before the kill), stored ${stored}, send attempts ${failures.attempts}`,
        `  lost ${faults.lost}, duplicated ${faults.duplicated}, out of order ${faults.outOfOrder}`,
        ...examples.map((e) => `  ! ${e}`),
        ...failures.fatal.slice(0, 5).map((e) => `  ! ${e}`),
        '',
      ].join('\n'),
    );
    watching.unsubscribe();
    newcomerFollower.stop();
    await newcomer.close();

    expect(failures.fatal).toEqual([]);
    expect(ackedAtKill).toBeLessThan(TOTAL);
    expect(acked.size).toBe(TOTAL);
    expect(stored).toBe(TOTAL);
    expect(faults).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  }, 180_000);
});

describe('REDIS_CLUSTER_NODES', () => {
  const base = {
    NODE_ENV: 'test',
    JWT_SECRET: 'x'.repeat(40),
    TURN_SECRET: 'y'.repeat(20),
    DATA_DIR: tmpdir(),
  } as const;

  it('names the seed nodes of a cluster; REDIS_URL then gives credentials and scheme', () => {
    const config = loadConfig({
      ...base,
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001,[::1]:7002',
      REDIS_URL: 'rediss://:secret@10.0.0.1:7000',
    });
    expect(config.redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(config.redisUrl).toBe('rediss://:secret@10.0.0.1:7000');
    // Without REDIS_URL, Redis is still configured (readiness, cross-instance services).
    expect(loadConfig({ ...base, REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).redisUrl).toBe('redis://127.0.0.1:7000');
    expect(loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379' }).redisClusterNodes).toEqual([]);
  });

  it('refuses entries that are not host:port, naming them', () => {
    for (const bad of ['127.0.0.1', 'host:0', 'host:65536', 'redis://host:7000', 'a:1,b']) {
      expect(() => loadConfig({ ...base, REDIS_CLUSTER_NODES: bad })).toThrow(ConfigError);
    }
    expect(() => loadConfig({ ...base, REDIS_CLUSTER_NODES: 'a:1,nope' })).toThrow(
      /REDIS_CLUSTER_NODES: not host:port: nope/,
    );
  });
});
