/**
 * Generated attacks on every procedure: at least 1,000 bad or hostile inputs each (wrong types,
 * huge strings, unicode edge cases, SQL and HTML payloads, missing and extra fields, numbers out
 * of range). Not one may end in INTERNAL_SERVER_ERROR, and a rejected call must leave every
 * table's row count as it was. The procedure list comes from the router itself, so a new
 * procedure is fuzzed without anyone remembering to add it.
 */
import { randomUUID } from 'node:crypto';
import { appRouter, createCallerFactory, type AccessClaims, type Context } from '@parley/api';
import { TRPCError } from '@trpc/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestServer, tableCounts, type TestServer } from './helpers.js';
import { fieldsOf, procedures } from './router-walk.js';

const RUNS = 1000;

const hostileStrings = fc.constantFrom(
  '',
  ' ',
  '\t\n',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  'x\uD83D',
  '\uDE00x',
  '\u202Eevil\u202C',
  'مرحبا\u200F',
  '\u200B\u200C\u200D\uFEFF',
  '\u0301\u0301\u0301',
  '👩‍👩‍👧‍👦',
  'Z̷̛͓a̶l̸g̴o̵',
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '1; SELECT pg_sleep(10) --',
  "\\'; delete from messages; --",
  '$$; drop table sessions; $$',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  'javascript:alert(1)',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: template-injection probe, literally
  '{{7*7}}${7*7}',
  '../../../../etc/passwd',
  '%00%27%22',
  '\r\nSet-Cookie: x=y',
  '__proto__',
  'constructor',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '9'.repeat(19),
  '-1',
  'NaN',
  'null',
  'true',
  '{"$gt":""}',
  'a@b',
  `${'a'.repeat(255)}@example.test`,
  'x'.repeat(4001),
  'é'.repeat(100_001),
  '\uD800'.repeat(10_000),
  'a'.repeat(1024 * 1024),
);
const strings = fc.oneof(
  { weight: 4, arbitrary: hostileStrings },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.constantFrom('\uD800', '\uDC00', '\u202E', '\u200B', 'a', "'", '<', '\u0000'),
      maxLength: 300,
    }),
  },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.emailAddress() },
);
const numbers = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, -1, 0, 2 ** 31, 2 ** 31 - 1, 2 ** 53, -(2 ** 53), 1e308, 0.5),
  fc.bigInt(),
);
const leaf = fc.oneof(strings, numbers, fc.boolean(), fc.constantFrom(null, undefined), fc.date());
const hostileValue = fc.oneof(
  { weight: 6, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 300 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), leaf, { maxKeys: 4 }) },
  {
    weight: 1,
    arbitrary: fc.anything({
      maxDepth: 2,
      withNullPrototype: true,
      withSparseArray: true,
      withBigInt: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withDate: true,
      withBoxedValues: true,
    }),
  },
);

export interface FuzzIds {
  conversationId: string;
  otherUserId: string;
  /** A message of the caller's in that conversation (edits, deletes, reactions, replies aim at it). */
  messageId: string;
}

/** A value that is valid for a field, or one that is plausible but foreign (a random UUID). */
function plausible(field: string, ids: FuzzIds) {
  switch (field) {
    case 'id':
    case 'userId':
    case 'toUserId':
    case 'callId':
    case 'clientId':
    case 'conversationId':
    case 'messageId':
    case 'replyToId':
      return fc.oneof(fc.uuid(), fc.constantFrom(ids.conversationId, ids.otherUserId, ids.messageId));
    case 'userIds':
    case 'memberIds':
      return fc.array(fc.oneof(fc.uuid(), fc.constant(ids.otherUserId)), { minLength: 1, maxLength: 3 });
    case 'email':
      return fc.emailAddress();
    case 'limit':
    case 'seq':
    case 'beforeSeq':
    case 'afterSeq':
      return fc.integer({ min: 0, max: 120 });
    case 'emoji':
      return fc.oneof(fc.constantFrom('👍', '👍🏽', '👨‍👩‍👧', '🇩🇪', '1️⃣', '❤'), strings);
    case 'media':
      return fc.constantFrom('audio', 'video');
    case 'signal':
      return fc.oneof(
        fc.record({ type: fc.constantFrom('offer', 'answer'), sdp: strings }),
        fc.record({ type: fc.constant('ice'), candidate: fc.record({ candidate: strings, sdpMid: strings }) }),
        fc.record({ type: fc.constant('state'), muted: fc.boolean(), cameraOff: hostileValue, screen: fc.boolean() }),
      );
    case 'before':
      return fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        strings,
      );
    default:
      return strings;
  }
}

function inputFor(fields: string[], ids: FuzzIds) {
  const shaped = (extra: boolean) =>
    fc
      .record(
        Object.fromEntries(
          fields.map((f) => [
            f,
            fc.oneof({ weight: 2, arbitrary: plausible(f, ids) }, { weight: 3, arbitrary: hostileValue }),
          ]),
        ),
        { requiredKeys: [] },
      )
      .chain((o) =>
        extra
          ? fc
              .tuple(
                fc.constantFrom('admin', 'role', 'userId', 'senderId', 'seq', '__proto__', 'isAdmin'),
                hostileValue,
              )
              .map(([k, v]) => {
                const copy: Record<string, unknown> = { ...o };
                Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
                return copy;
              })
          : fc.constant(o as Record<string, unknown>),
      );
  return fc.oneof(
    { weight: 3, arbitrary: hostileValue },
    { weight: 4, arbitrary: shaped(false) },
    { weight: 2, arbitrary: shaped(true) },
  );
}

describe('generated hostile inputs on every procedure', () => {
  let t: TestServer;
  let claims: AccessClaims;
  let ids: FuzzIds;
  const aborter = new AbortController();

  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite' });
    const a = await signUp(t, 'Fuzz A');
    const b = await signUp(t, 'Fuzz B');
    const direct = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const message = await a.client.api.messages.send.mutate({
      conversationId: direct.id,
      clientId: randomUUID(),
      body: 'fuzz me',
    });
    ids = { conversationId: direct.id, otherUserId: b.user.id, messageId: message.id };
    claims = (await t.server.services.auth.authenticate(a.accessToken))!;
    expect(claims).toBeTruthy();
  });
  afterAll(async () => {
    aborter.abort();
    await t?.close();
  });

  it('walks every procedure of the router', () => {
    expect(procedures.length).toBeGreaterThanOrEqual(25);
  });

  it.each(procedures.map(([path]) => path))(
    '%s: never INTERNAL_SERVER_ERROR, a rejected call changes nothing',
    async (path) => {
      const proc = procedures.find(([p]) => p === path)![1];
      const fields = proc._def.inputs.flatMap(fieldsOf);
      const ctx: Context = {
        services: t.server.services,
        req: { ip: '198.51.100.7', userAgent: 'fuzz' },
        cookies: null,
        auth: claims,
      };
      // The caller is typed per procedure; the fuzzer calls each one with values of any type on purpose.
      // Subscriptions run only on a socket: each call gets a socket of its own (fresh subscription slots).
      const callerFor = (c: Context) =>
        createCallerFactory(appRouter)(c, { signal: aborter.signal }) as unknown as Record<
          string,
          Record<string, (input: unknown) => Promise<unknown>>
        >;
      const caller = callerFor(ctx);
      const [ns, name] = path.split('.') as [string, string];
      const call = (input: unknown) =>
        (proc._def.type === 'subscription' ? callerFor({ ...ctx, socket: { subscriptions: 0 } }) : caller)[ns]![name]!(
          input,
        );

      // Procedures without an input schema ignore their input: they must still not fail.
      const takesInput = proc._def.inputs.length > 0;
      // Mail jobs queued by an earlier procedure write their tokens off the request path: let them finish.
      await t.server.services.mail.idle();
      let baseline = await tableCounts(t);
      let rejected = 0;
      const internal: unknown[] = [];
      await fc.assert(
        fc.asyncProperty(inputFor(fields, ids), async (input) => {
          let error: unknown = null;
          try {
            const out = await call(input);
            // A subscription that accepted its input: close it at once.
            const iter = out as AsyncIterator<unknown> | null;
            if (iter && typeof iter.return === 'function') await iter.return(undefined);
          } catch (err) {
            error = err;
          }
          if (error === null) {
            // An accepted call may have queued a mail job (even one without input: resendVerification),
            // whose row goes, and whose token comes, once it has run.
            const mailed = await t.server.services.mail.idle();
            if (takesInput || mailed) baseline = await tableCounts(t);
            return;
          }
          rejected++;
          const code = error instanceof TRPCError ? error.code : 'not a TRPCError';
          if (code === 'INTERNAL_SERVER_ERROR' || code === 'not a TRPCError') {
            internal.push({ input, error: String((error as { cause?: unknown }).cause ?? error) });
          }
          expect(code).not.toBe('INTERNAL_SERVER_ERROR');
          expect(code).not.toBe('not a TRPCError');
          // Counting every table costs more than the call: compare after every 10th rejection and at
          // the end (a rejected write would have to be undone by a later rejected call to slip by).
          if (rejected % 10 === 0) expect(await tableCounts(t)).toEqual(baseline);
        }),
        { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 0x9a7) ^ path.length, endOnFailure: true },
      );
      expect(internal).toEqual([]);
      if (takesInput) {
        expect(await tableCounts(t)).toEqual(baseline);
        // Nearly all of these inputs are hostile: most must have been refused.
        expect(rejected).toBeGreaterThan(RUNS / 2);
      }
    },
  );
});
