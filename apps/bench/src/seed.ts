/**
 * The bench's seeding path for Parley: users, sessions and conversations written straight into
 * the database the bench gave the server, and access tokens signed with the secret it gave it.
 * Registering 1,000 users through the API costs a bcrypt hash (cost 12, ~300 ms) each; this
 * costs one hash in all (every user shares the password, so the login storm still works).
 */
import { newRefreshToken, TokenService } from '@parley/api';
import { openDatabase, seedGroups, seedUsersWithSessions } from '@parley/db';
import bcrypt from 'bcryptjs';

export interface SeedSource {
  databaseUrl: string;
  jwtSecret: string;
  accessTokenTtlSeconds: number;
  bcryptCost: number;
}

export interface SeededUser {
  id: string;
  email: string;
  token: string;
  expiresAt: string;
}

export async function seedParley(
  source: SeedSource,
  opts: { users: number; groups: number[][]; password: string; runId: string },
): Promise<{ users: SeededUser[]; conversationIds: string[] }> {
  const database = await openDatabase({ databaseUrl: source.databaseUrl, dataDir: '.', poolSize: 2 });
  try {
    const passwordHash = await bcrypt.hash(opts.password, source.bcryptCost);
    const sessionExpiresAt = new Date(Date.now() + 7 * 24 * 3600_000).toISOString();
    const rows = Array.from({ length: opts.users }, (_, i) => ({
      email: `bench-${opts.runId}-${i}@bench.test`,
      displayName: `Bench ${i}`,
      passwordHash,
      sessionExpiresAt,
      refreshTokenHash: newRefreshToken().hash,
    }));
    const seeded = await seedUsersWithSessions(database.db, rows);
    const byEmail = new Map(seeded.map((s) => [s.email, s]));
    const tokens = new TokenService(source.jwtSecret, source.accessTokenTtlSeconds);
    const users = await Promise.all(
      rows.map(async (r) => {
        const s = byEmail.get(r.email)!;
        const access = await tokens.issueAccessToken(s.userId, s.sessionId);
        return { id: s.userId, email: r.email, token: access.token, expiresAt: access.expiresAt };
      }),
    );
    const conversationIds = await seedGroups(
      database.db,
      opts.groups.map((members, g) => ({
        title: `bench ${opts.runId} ${g}`,
        memberIds: members.map((m) => users[m]!.id),
      })),
    );
    return { users, conversationIds };
  } finally {
    await database.close();
  }
}
