/**
 * The API contract is checked by the compiler: `pnpm test` type-checks this file with the rest
 * of the workspace, so a change to a procedure's output on the server breaks the build here.
 */
import { initTRPC } from '@trpc/server';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { describe, expectTypeOf, it } from 'vitest';
import type { RouterInputs, RouterOutputs } from '../src/index.js';

describe('AppRouter contract', () => {
  it('types the shapes API.md promises', () => {
    expectTypeOf<RouterOutputs['auth']['me']>().toEqualTypeOf<{
      id: string;
      email: string;
      displayName: string;
      createdAt: string;
      emailVerified: boolean;
      about: string;
      totpEnabled: boolean;
      avatarUrl: string | null;
    }>();
    expectTypeOf<RouterOutputs['auth']['login']>().toEqualTypeOf<{
      user: RouterOutputs['auth']['me'];
      accessToken: string;
      accessTokenExpiresAt: string;
    }>();
    expectTypeOf<RouterOutputs['users']['byId']>().toEqualTypeOf<{
      id: string;
      displayName: string;
      about: string;
      online: boolean;
      lastSeenAt: string | null;
      avatarUrl: string | null;
    }>();
    expectTypeOf<RouterOutputs['messages']['send']['attachments'][number]>().toEqualTypeOf<{
      id: string;
      name: string;
      size: number;
      contentType: string;
      kind: 'image' | 'video' | 'audio' | 'file';
      width: number | null;
      height: number | null;
      durationMs: number | null;
      url: string;
      thumbnailUrl: string | null;
    }>();
    expectTypeOf<RouterInputs['auth']['register']>().toEqualTypeOf<{
      email: string;
      password: string;
      displayName: string;
    }>();
  });

  it('breaks a client that reads the old shape after the server changes an output', () => {
    const t = initTRPC.create();
    const before = t.router({ me: t.procedure.query(() => ({ id: 'u1', displayName: 'Ann' })) });
    const after = t.router({ me: t.procedure.query(() => ({ id: 'u1', name: 'Ann' })) });
    const link = httpBatchLink({ url: 'http://localhost/trpc' });
    const useOldShape = async (client: ReturnType<typeof createTRPCClient<typeof before>>) =>
      (await client.me.query()).displayName;
    const oldClient = createTRPCClient<typeof before>({ links: [link] });
    const newClient = createTRPCClient<typeof after>({ links: [link] });
    expectTypeOf(useOldShape).toBeCallableWith(oldClient);
    // @ts-expect-error -- `displayName` no longer exists: the compiler rejects the stale client.
    void (() => useOldShape(newClient));
  });
});
