/**
 * TURN credentials: the pure function, and proof against the real coturn (Debian's
 * turnserver + turnutils_uclient) that its credentials allocate a relay while tampered,
 * expired or foreign ones are refused; plus the production coturn config's peer deny list.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iceServersFor, turnCredential } from '../src/services/turn.js';
import {
  allocateWithUclient,
  COTURN_DIR,
  startCoturn,
  startProductionCoturn,
  type RunningCoturn,
} from './turn-helpers.js';

const SECRET = randomBytes(24).toString('base64url');
const TTL = 600;

function turnConfig(url: string, secret = SECRET) {
  return { secret, urls: [url], stunUrls: [url.replace(/^turn:/, 'stun:')], ttlSeconds: TTL };
}

function turnEntry(result: ReturnType<typeof iceServersFor>) {
  const entry = result.iceServers.find((s) => s.username !== undefined);
  if (!entry?.username || !entry.credential) throw new Error('no TURN entry with credentials');
  return { username: entry.username, credential: entry.credential };
}

describe('iceServersFor', () => {
  const turn = {
    secret: 'north-south-east-west',
    urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'],
    stunUrls: ['stun:turn.example.com:3478'],
    ttlSeconds: 3600,
  };

  it('gives STUN without credentials and TURN with "<expiry>:<userId>" and an HMAC-SHA1', () => {
    const now = Date.UTC(2023, 10, 14, 22, 13, 20, 999); // 1700000000.999 s
    const result = iceServersFor('user-a', turn, now);
    expect(result.ttlSeconds).toBe(3600);
    expect(result.iceServers).toEqual([
      { urls: ['stun:turn.example.com:3478'] },
      {
        urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'],
        username: '1700003600:user-a',
        // Computed independently: printf '1700003600:user-a' | openssl dgst -sha1 -hmac north-south-east-west -binary | base64
        credential: 'SV2LR2OeMUzfJVJxhtHGy2aII3k=',
      },
    ]);
  });

  it('matches openssl, when openssl is installed', () => {
    let expected: string;
    try {
      const mac = execFileSync('openssl', ['dgst', '-sha1', '-hmac', turn.secret, '-binary'], {
        input: '1700003600:user-a',
      });
      expected = mac.toString('base64');
    } catch {
      return; // no openssl binary: the fixed vector above still holds
    }
    expect(turnCredential(turn.secret, '1700003600:user-a')).toBe(expected);
  });

  it('changes the credential with the secret, the user and the time', () => {
    const a = turnEntry(iceServersFor('u1', turn, 1_700_000_000_000));
    expect(turnEntry(iceServersFor('u2', turn, 1_700_000_000_000)).credential).not.toBe(a.credential);
    expect(
      turnEntry(iceServersFor('u1', { ...turn, secret: 'another-secret-value' }, 1_700_000_000_000)).credential,
    ).not.toBe(a.credential);
    expect(turnEntry(iceServersFor('u1', turn, 1_700_000_001_000)).username).toBe('1700003601:u1');
  });

  it('leaves out what is not configured, and never sends the secret', () => {
    expect(iceServersFor('u', { ...turn, urls: [], stunUrls: [] }).iceServers).toEqual([]);
    const stunOnly = iceServersFor('u', { ...turn, urls: [] });
    expect(stunOnly.iceServers).toEqual([{ urls: ['stun:turn.example.com:3478'] }]);
    expect(JSON.stringify(iceServersFor('u', turn))).not.toContain(turn.secret);
  });

  it('refuses a user id coturn would misread', () => {
    expect(() => iceServersFor('a:b', turn)).toThrow();
  });
});

describe('against a real coturn (turnserver + turnutils_uclient)', () => {
  let coturn: RunningCoturn;
  beforeAll(async () => {
    coturn = await startCoturn({ secret: SECRET, realm: 'parley.test' });
  }, 20_000);
  afterAll(async () => {
    await coturn?.stop();
  });

  it('allocates a relay and relays a message with fresh credentials', async () => {
    const creds = turnEntry(iceServersFor(randomUUID(), turnConfig(coturn.url)));
    const result = await allocateWithUclient({ port: coturn.port, ...creds });
    expect(result.output).not.toContain('Cannot complete Allocation');
    expect(result.relayAddress, result.output).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(result.output).toMatch(/tot_recv_msgs=[1-9]/);
    expect(result.code, result.output).toBe(0);
  }, 30_000);

  it('refuses a tampered credential', async () => {
    const creds = turnEntry(iceServersFor(randomUUID(), turnConfig(coturn.url)));
    const bytes = Buffer.from(creds.credential, 'base64');
    bytes[0] = bytes[0]! ^ 0x01;
    const result = await allocateWithUclient({
      port: coturn.port,
      username: creds.username,
      credential: bytes.toString('base64'),
    });
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain('Cannot complete Allocation');
    expect(result.relayAddress).toBeNull();
  }, 30_000);

  it('refuses a username whose validity was changed without a new credential', async () => {
    const creds = turnEntry(iceServersFor('someone', turnConfig(coturn.url)));
    const [expiry, user] = creds.username.split(':') as [string, string];
    const result = await allocateWithUclient({
      port: coturn.port,
      username: `${Number(expiry) + 86_400}:${user}`,
      credential: creds.credential,
    });
    expect(result.code, result.output).not.toBe(0);
    expect(result.relayAddress).toBeNull();
  }, 30_000);

  it('refuses an expired username, correctly signed', async () => {
    const longAgo = Date.now() - (TTL + 60) * 1000;
    const creds = turnEntry(iceServersFor(randomUUID(), turnConfig(coturn.url), longAgo));
    expect(Number(creds.username.split(':')[0])).toBeLessThan(Date.now() / 1000);
    const result = await allocateWithUclient({ port: coturn.port, ...creds });
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain('Cannot complete Allocation');
    expect(result.relayAddress).toBeNull();
  }, 30_000);

  it('refuses credentials made with another secret', async () => {
    const creds = turnEntry(iceServersFor(randomUUID(), turnConfig(coturn.url, `${SECRET}-other`)));
    const result = await allocateWithUclient({ port: coturn.port, ...creds });
    expect(result.code, result.output).not.toBe(0);
    expect(result.relayAddress).toBeNull();
  }, 30_000);
});

// ---------------------------------------------------------------- production config

const productionConf = readFileSync(join(COTURN_DIR, 'turnserver.conf'), 'utf8');
const deniedRanges = productionConf
  .split('\n')
  .map((l) => l.trim().match(/^denied-peer-ip=(.+)$/)?.[1])
  .filter((v): v is string => v !== undefined);

function ipToBigInt(ip: string): { v6: boolean; n: bigint } {
  if (isIPv4(ip)) return { v6: false, n: ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  let text = ip;
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/)?.[1];
  if (v4) {
    const n = ipToBigInt(v4).n;
    text = `${text.slice(0, -v4.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`bad IPv6 address: ${ip}`);
  return { v6: true, n: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

function isDenied(ip: string) {
  const addr = ipToBigInt(ip);
  return deniedRanges.some((range) => {
    const [from, to = from] = range.split('-') as [string, string | undefined];
    const a = ipToBigInt(from);
    const b = ipToBigInt(to);
    return a.v6 === addr.v6 && a.n <= addr.n && addr.n <= b.n;
  });
}

describe('coturn/turnserver.conf (production)', () => {
  it('denies every private, loopback, link-local, CGNAT and special-purpose range', () => {
    const internal = [
      '0.0.0.0',
      '10.0.0.1',
      '10.255.255.255',
      '100.64.0.1',
      '100.127.255.254',
      '127.0.0.1',
      '127.1.2.3',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '192.168.255.255',
      '192.0.0.8',
      '198.18.0.1',
      '224.0.0.1',
      '239.255.255.250',
      '255.255.255.255',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::a00:1',
      '2002:a00:1::1',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'febf:ffff::1',
      'fec0::1',
      'ff02::1',
      '2001:db8::1',
    ];
    expect(internal.filter((ip) => !isDenied(ip))).toEqual([]);
    const publicHosts = [
      '1.1.1.1',
      '8.8.8.8',
      '100.63.255.255',
      '100.128.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.169.0.1',
      '2606:4700:4700::1111',
      '2a00:1450::1',
    ];
    expect(publicHosts.filter((ip) => isDenied(ip))).toEqual([]);
  });

  it('has no IPv6 range starting at "::" (coturn 4.6.1 would refuse every IPv4 peer by it)', () => {
    const fromZero = deniedRanges.filter(
      (r) => r.includes('-') && isIPv6(r.split('-')[0]!) && ipToBigInt(r.split('-')[0]!).n === 0n,
    );
    expect(fromZero).toEqual([]);
  });

  it('has the hardening options', () => {
    for (const option of [
      'use-auth-secret',
      'fingerprint',
      'no-cli',
      'no-multicast-peers',
      'tls-listening-port=5349',
      'no-software-attribute',
    ]) {
      expect(productionConf.split('\n').map((l) => l.trim())).toContain(option);
    }
    expect(productionConf).toMatch(/^cert=/m);
    expect(productionConf).toMatch(/^pkey=/m);
    expect(productionConf).toMatch(/^user-quota=\d+/m);
    expect(productionConf).toMatch(/^total-quota=\d+/m);
    expect(productionConf).toMatch(/^min-port=\d+/m);
    expect(productionConf).toMatch(/^max-port=\d+/m);
    expect(productionConf).not.toMatch(/^\s*(allow-loopback-peers|static-auth-secret|lt-cred-mech)/m);
    expect(readFileSync(join(COTURN_DIR, 'turnserver.conf.template'), 'utf8')).toMatch(
      /^static-auth-secret=\$\{TURN_SECRET\}$/m,
    );
  });

  it('its deny list wins over --allow-loopback-peers: the relay cannot reach 127.0.0.1', async () => {
    const coturn = await startCoturn({ secret: SECRET, extraArgs: deniedRanges.map((r) => `--denied-peer-ip=${r}`) });
    try {
      const creds = turnEntry(iceServersFor(randomUUID(), turnConfig(coturn.url)));
      const result = await allocateWithUclient({ port: coturn.port, ...creds });
      // The allocation itself is fine; relaying to the loopback peer is forbidden.
      expect(result.relayAddress, result.output).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(result.output).toContain('403 (Forbidden IP)');
      expect(result.code).not.toBe(0);
    } finally {
      await coturn.stop();
    }
  }, 30_000);

  it('started through entrypoint.sh, accepts API credentials and still refuses loopback peers', async () => {
    const coturn = await startProductionCoturn({ secret: SECRET, realm: 'turn.parley.test' });
    try {
      const good = await allocateWithUclient({
        port: coturn.port,
        ...turnEntry(iceServersFor(randomUUID(), turnConfig(coturn.url))),
      });
      expect(good.relayAddress, `${good.output}\n${coturn.log()}`).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(good.output).toContain('403 (Forbidden IP)');
      const expired = turnEntry(iceServersFor(randomUUID(), turnConfig(coturn.url), Date.now() - (TTL + 60) * 1000));
      const bad = await allocateWithUclient({ port: coturn.port, ...expired });
      expect(bad.relayAddress).toBeNull();
      expect(bad.output).toContain('Cannot complete Allocation');
    } finally {
      await coturn.stop();
    }
  }, 30_000);
});
