/**
 * Sign-in and refresh under pressure:
 * - strangers' wrong passwords slow further attempts from unknown devices, but never lock the
 *   owner out on a known device (a usual IP, or a valid refresh cookie of theirs);
 * - the bcrypt queue is bounded: a flood of sign-ins is shed with TOO_MANY_REQUESTS and a retry
 *   time, while refreshes (which never hash) are answered meanwhile;
 * - two refreshes with one token at once (two tabs waking) both get the same new pair; reuse
 *   after the grace still revokes the session.
 * Runs on memory stores (PGlite) and on Redis + PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { LOGIN_SLOWDOWN_MAX_MS } from '@parley/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, signUp, sleep, startTestServer, TEST_PG_URL, TEST_REDIS_URL, type TestServer } from './helpers.js';

const freshIp = () => `10.${[...randomBytes(3)].join('.')}`;
const GRACE_MS = 1500;

const setups = [
  { name: 'memory (PGlite)', skip: false, opts: { db: 'pglite' as const } },
  { name: 'Redis (PostgreSQL)', skip: !TEST_PG_URL || !TEST_REDIS_URL, opts: { db: 'postgres' as const, redis: true } },
];

for (const setup of setups) {
  describe.skipIf(setup.skip)(`session guards with ${setup.name}`, () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer({
        ...setup.opts,
        env: { TRUST_PROXY: '127.0.0.1,::1', REFRESH_GRACE_MS: String(GRACE_MS), BCRYPT_COST: '8' },
      });
    });
    afterAll(() => t?.close());

    const from = (ip: string) => t.client({ headers: { 'x-forwarded-for': ip } });
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => ({ code: 'no error', retryAfterMs: null as number | null }),
        (e: { data?: { code: string; retryAfterMs: number | null } }) =>
          e.data ?? { code: 'not tRPC', retryAfterMs: null },
      );

    it("strangers' wrong passwords slow strangers down but never lock the owner out of a known device", async () => {
      const home = freshIp();
      const owner = await signUp(t, 'Owner', { headers: { 'x-forwarded-for': home } });
      // The owner signs in from home once: home becomes a usual IP.
      await from(home).api.auth.login.mutate({ email: owner.email, password: owner.password });
      // Twenty wrong passwords from twenty addresses.
      const answers = [];
      for (let i = 0; i < 20; i++)
        answers.push(
          await refusal(from(freshIp()).api.auth.login.mutate({ email: owner.email, password: `guess-${i}-wrong` })),
        );
      expect(answers.slice(0, 5).map((a) => a.code)).toEqual(Array(5).fill('UNAUTHORIZED'));
      const slowed = answers.filter((a) => a.code === 'TOO_MANY_REQUESTS');
      expect(slowed.length).toBeGreaterThan(0);
      // Slowed, not locked: the wait is never longer than the cap.
      for (const a of slowed) expect(a.retryAfterMs).toBeLessThanOrEqual(LOGIN_SLOWDOWN_MAX_MS);
      // The owner at home gets in at once.
      expect((await from(home).api.auth.login.mutate({ email: owner.email, password: owner.password })).user.id).toBe(
        owner.user.id,
      );
      // So does the owner on the road with a valid refresh cookie of theirs (the signed-up client's jar).
      const road = await fetch(`${t.url}/trpc/auth.login`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-forwarded-for': freshIp(),
          cookie: `parley_refresh=${owner.client.cookieJar!.get('parley_refresh')!}`,
        },
        body: JSON.stringify({ email: owner.email, password: owner.password }),
      });
      expect(road.status).toBe(200);
    });

    it('the owner on a known device has a budget of their own', async () => {
      const home = freshIp();
      const owner = await signUp(t, 'Typo', { headers: { 'x-forwarded-for': home } });
      await from(home).api.auth.login.mutate({ email: owner.email, password: owner.password });
      for (let i = 0; i < 5; i++)
        expect(await errorCode(from(home).api.auth.login.mutate({ email: owner.email, password: 'typo-typo' }))).toBe(
          'UNAUTHORIZED',
        );
      expect(await errorCode(from(home).api.auth.login.mutate({ email: owner.email, password: owner.password }))).toBe(
        'TOO_MANY_REQUESTS',
      );
      // Which strangers do not share: another address still gets its answer.
      expect(
        await errorCode(from(freshIp()).api.auth.login.mutate({ email: owner.email, password: owner.password })),
      ).toBe('no error');
    });

    it('sheds a flood of sign-ins with TOO_MANY_REQUESTS and a retry time; refreshes are answered meanwhile', async () => {
      const owner = await signUp(t, 'Busy');
      const victims = await Promise.all(Array.from({ length: 3 }, () => signUp(t, 'Victim')));
      const order: string[] = [];
      // Sixty sign-ins at once from sixty addresses (each address is its own fair share).
      const flood = Array.from({ length: 60 }, (_, i) =>
        refusal(
          from(freshIp()).api.auth.login.mutate({ email: victims[i % 3]!.email, password: victims[i % 3]!.password }),
        ).then((a) => {
          order.push('login');
          return a;
        }),
      );
      await sleep(50);
      const refreshed = owner.client.api.auth.refresh.mutate().then((r) => {
        order.push('refresh');
        return r;
      });
      const answers = await Promise.all(flood);
      expect((await refreshed).user.id).toBe(owner.user.id);
      const shed = answers.filter((a) => a.code === 'TOO_MANY_REQUESTS');
      expect(shed.length).toBeGreaterThan(0);
      for (const a of shed) expect(a.retryAfterMs).toBeGreaterThan(0);
      expect(answers.filter((a) => a.code === 'no error').length).toBeGreaterThan(0);
      // The refresh did not wait for the hashing: it was answered before the flood was.
      expect(order.indexOf('refresh')).toBeLessThan(order.length - 1);
    });

    it('two refreshes with one token at once both get the same new pair; reuse after the grace revokes', async () => {
      const owner = await signUp(t, 'Tabs');
      const old = owner.client.cookieJar!.get('parley_refresh')!;
      const tab = async () => {
        const res = await fetch(`${t.url}/trpc/auth.refresh`, {
          method: 'POST',
          headers: { cookie: `parley_refresh=${old}` },
        });
        const body = (await res.json()) as { result?: { data: { accessToken: string } } };
        const cookie = res.headers
          .getSetCookie()
          .find((c) => c.startsWith('parley_refresh='))
          ?.split(';')[0]
          ?.split('=')[1];
        return { status: res.status, accessToken: body.result?.data.accessToken, cookie };
      };
      const [a, b] = await Promise.all([tab(), tab()]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.accessToken).toBe(b.accessToken);
      expect(a.cookie).toBe(b.cookie);
      expect(a.cookie).not.toBe(old);
      // A third tab a moment later, still within the grace: the same pair again.
      const c = await tab();
      expect(c.cookie).toBe(a.cookie);
      // The session is alive and the new token works.
      const me = await fetch(`${t.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${a.accessToken}` } });
      expect(me.status).toBe(200);
      // After the grace, the old token is reuse: the whole session is revoked.
      await sleep(GRACE_MS + 200);
      expect((await tab()).status).toBe(401);
      const after = await fetch(`${t.url}/trpc/auth.refresh`, {
        method: 'POST',
        headers: { cookie: `parley_refresh=${a.cookie}` },
      });
      expect(after.status).toBe(401);
    });
  });
}
