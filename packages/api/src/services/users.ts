import { findUserById, findUsersByIds, searchUsers, setAvatar, updateUser, type Db } from '@parley/db';
import { NotFound, Unauthorized } from '../errors.js';
import { toPublicUser, toUser, type PublicUser } from '../presenters.js';
import type { BlockRules } from './blocks.js';
import type { Presence } from './presence.js';

export class UserService {
  constructor(
    private readonly deps: {
      db: Db;
      presence: Presence;
      /** Deletes a replaced profile picture (AttachmentService.deleteFiles). */
      deleteFiles?: (where: { ids: string[] }) => Promise<unknown>;
    },
  ) {}

  async search(callerId: string, query: string, limit: number) {
    const rows = await searchUsers(this.deps.db, query, callerId, limit);
    const users = await this.withPresence(rows, callerId);
    // Two people of the same name are told apart by a short handle and, once verified, the domain
    // of their address (never the address itself).
    return users.map((u, i) => ({
      ...u,
      handle: u.id.replace(/-/g, '').slice(0, 6),
      emailDomain: rows[i]!.emailVerifiedAt ? (rows[i]!.email.split('@').pop() ?? null) : null,
    }));
  }

  async byId(id: string, viewerId?: string): Promise<PublicUser> {
    const row = await findUserById(this.deps.db, id);
    if (!row) throw new NotFound('No such user.');
    const [user] = await this.withPresence([row], viewerId);
    return user!;
  }

  async publicUsers(ids: string[]): Promise<PublicUser[]> {
    return this.withPresence(await findUsersByIds(this.deps.db, ids));
  }

  async updateProfile(
    userId: string,
    values: {
      displayName?: string | undefined;
      about?: string | undefined;
      avatarAttachmentId?: string | null | undefined;
    },
  ) {
    if (values.avatarAttachmentId !== undefined) {
      const set = await setAvatar(this.deps.db, userId, values.avatarAttachmentId);
      if (!set.ok) throw new NotFound('That picture was not found (upload it first, as an image).');
      if (set.previous) await this.deps.deleteFiles?.({ ids: [set.previous] });
    }
    const changes = {
      ...(values.displayName === undefined ? {} : { displayName: values.displayName }),
      ...(values.about === undefined ? {} : { about: values.about }),
    };
    const row =
      Object.keys(changes).length > 0
        ? await updateUser(this.deps.db, userId, changes)
        : await findUserById(this.deps.db, userId);
    if (!row) throw new Unauthorized('Please sign in.');
    return toUser(row);
  }

  /** Blocking's rules (set by createServices): who blocked the viewer shows them no presence. */
  blockRules: BlockRules | null = null;

  async withPresence<R extends Parameters<typeof toPublicUser>[0]>(
    rows: R[],
    viewerId?: string,
  ): Promise<PublicUser[]> {
    const ids = rows.map((r) => r.id);
    const online = await this.deps.presence.onlineAmong(ids);
    const hidden = viewerId && this.blockRules ? await this.blockRules.hiddenFrom(viewerId, ids) : new Set<string>();
    return rows.map((r) =>
      hidden.has(r.id) ? toPublicUser({ ...r, lastSeenAt: null }, false) : toPublicUser(r, online.has(r.id)),
    );
  }
}
