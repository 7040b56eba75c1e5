/**
 * The PRODUCTION coturn configuration (coturn/turnserver.conf through entrypoint.sh) relays to a
 * public-style peer and refuses every denied range. Loopback cannot show the first half, so the
 * test makes a network namespace with a veth pair: this side 11.0.0.1 / 2a00:d0c::1 (coturn
 * relays from here), the namespace 11.0.0.2 / 2a00:d0c::2, where coturn's echo peer
 * (turnutils_peer) answers. Only addresses of hosts the test made itself are ever reached.
 * Needs root (ip netns); skipped, with a warning, elsewhere.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { waitFor } from '@parley/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iceServersFor } from '../src/services/turn.js';
import { allocateWithUclient, startProductionCoturn, type RunningCoturn } from './turn-helpers.js';

const SECRET = randomBytes(24).toString('base64url');
const id = randomBytes(3).toString('hex');
const NS = `parley-turn-${id}`;
const HOST_IF = `pth${id}`;
const NS_IF = `ptn${id}`;
const HOST_V4 = '11.0.0.1';
const PEER_V4 = '11.0.0.2';
const HOST_V6 = '2a00:d0c::1';
const PEER_V6 = '2a00:d0c::2';
const PEER_PORT = 3480;
const MESSAGES = 10;

const canNetns = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!canNetns) console.warn('turn-netns: not root or no `ip netns`; the production relay test is skipped');

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Whether the echoing peer answers a datagram at `address` from this host (it and the path are up). */
function peerEchoes(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(false), 300);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    sock.once('message', () => finish(true));
    sock.once('error', () => finish(false));
    sock.send('ping', PEER_PORT, address);
  });
}

function credentials() {
  const turn = { secret: SECRET, urls: ['turn:127.0.0.1:3478'], stunUrls: [], ttlSeconds: 600 };
  const entry = iceServersFor(randomUUID(), turn).iceServers.find((s) => s.username !== undefined)!;
  return { username: entry.username!, credential: entry.credential! };
}

describe.skipIf(!canNetns)('production coturn in a network namespace', () => {
  let coturn: RunningCoturn;
  let peer: ChildProcess;
  let peerLog = '';

  beforeAll(async () => {
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
    ip('link', 'set', NS_IF, 'netns', NS);
    ip('addr', 'add', `${HOST_V4}/24`, 'dev', HOST_IF);
    ip('-6', 'addr', 'add', `${HOST_V6}/64`, 'dev', HOST_IF, 'nodad');
    ip('link', 'set', HOST_IF, 'up');
    ip('-n', NS, 'addr', 'add', `${PEER_V4}/24`, 'dev', NS_IF);
    ip('-n', NS, '-6', 'addr', 'add', `${PEER_V6}/64`, 'dev', NS_IF, 'nodad');
    ip('-n', NS, 'link', 'set', NS_IF, 'up');
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    peer = spawn('ip', ['netns', 'exec', NS, 'turnutils_peer', '-L', PEER_V4, '-L', PEER_V6, '-p', String(PEER_PORT)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    peer.stdout?.setEncoding('utf8').on('data', (d: string) => (peerLog += d));
    peer.stderr?.setEncoding('utf8').on('data', (d: string) => (peerLog += d));
    // The peer binds, and IPv6 neighbour discovery settles, a moment after the links come up.
    for (const address of [PEER_V4, PEER_V6])
      await waitFor(() => peerEchoes(address), { timeoutMs: 15_000, intervalMs: 100 });
    coturn = await startProductionCoturn({ secret: SECRET, realm: 'turn.parley.test', relayIps: [HOST_V4, HOST_V6] });
  }, 30_000);

  afterAll(async () => {
    await coturn?.stop();
    if (peer?.pid !== undefined) peer.kill('SIGKILL');
    // Deleting the namespace deletes its end of the veth pair, and with it this end.
    try {
      ip('netns', 'delete', NS);
    } catch {
      // never made
    }
    try {
      ip('link', 'delete', HOST_IF);
    } catch {
      // already gone with the namespace
    }
  });

  it.each([PEER_V4, PEER_V6])(
    'relays to the public-style peer %s, every packet back',
    async (address) => {
      const result = await allocateWithUclient({
        port: coturn.port,
        ...credentials(),
        peer: { address, port: PEER_PORT, messages: MESSAGES },
      });
      const log = `${result.output}\n${coturn.log()}\n${peerLog}`;
      // Not a bare substring: a client port such as 40300 would match it.
      expect(result.output, log).not.toMatch(/\b403\b/);
      expect(result.output, log).toContain(`tot_recv_msgs=${MESSAGES}`);
      expect(result.output, log).toMatch(/Total lost packets 0 /);
    },
    30_000,
  );

  const denied: [string, string][] = [
    ['IPv4 loopback', '127.0.0.1'],
    ['IPv4 loopback, not .1', '127.3.2.1'],
    ['RFC 1918 10/8', '10.1.2.3'],
    ['RFC 1918 172.16/12', '172.16.5.4'],
    ['RFC 1918 192.168/16', '192.168.1.1'],
    ['link-local / cloud metadata', '169.254.169.254'],
    ['CGNAT 100.64/10', '100.64.0.1'],
    ['this network 0/8', '0.1.2.3'],
    ['documentation', '198.51.100.7'],
    ['benchmarking 198.18/15', '198.18.0.1'],
    ['multicast', '224.0.0.251'],
    ['reserved 240/4', '240.0.0.1'],
    ['IPv6 loopback', '::1'],
    ['IPv6 unspecified', '::'],
    ['IPv4-mapped private', '::ffff:10.0.0.1'],
    ['IPv4-mapped public (no detour around the IPv4 list)', `::ffff:${PEER_V4}`],
    ['NAT64', '64:ff9b::a00:1'],
    ['6to4', '2002:a00:1::1'],
    ['IPv6 documentation', '2001:db8::1'],
    ['IPv6 unique local', 'fd00::1'],
    ['IPv6 link-local', 'fe80::1'],
    ['IPv6 site-local (deprecated)', 'fec0::1'],
    ['IPv6 multicast', 'ff02::1'],
  ];

  it.each(denied)(
    'refuses a relay to %s (%s) with 403 Forbidden IP',
    async (_name, address) => {
      const result = await allocateWithUclient({
        port: coturn.port,
        ...credentials(),
        peer: { address, port: PEER_PORT, messages: 2 },
      });
      expect(result.output, `${result.output}\n${coturn.log()}`).toContain('403 (Forbidden IP)');
      expect(result.output).not.toMatch(/tot_recv_msgs=[1-9]/);
    },
    30_000,
  );
});
