import { and, eq, inArray, sql } from 'drizzle-orm';
import { hotStatement, type Executor } from '../client.js';
import { conversations, members, notificationSettings, pushSubscriptions, sessions, users } from '../schema.js';

/**
 * Registers (or re-registers) a browser's push subscription for a session. The endpoint is the
 * browser's: when another account signs in there it changes hands, so nobody keeps receiving the
 * previous account's notifications.
 */
export async function upsertPushSubscription(
  db: Executor,
  values: { endpoint: string; userId: string; sessionId: string; p256dh: string; auth: string },
) {
  await db
    .insert(pushSubscriptions)
    .values(values)
    .onConflictDoUpdate({
      target: pushSubscriptions.endpoint,
      set: { userId: values.userId, sessionId: values.sessionId, p256dh: values.p256dh, auth: values.auth },
    });
}

/** Deletes one of this user's subscriptions; false when the user has none with that endpoint. */
export async function deleteUserPushSubscription(db: Executor, userId: string, endpoint: string) {
  const rows = await db
    .delete(pushSubscriptions)
    .where(and(eq(pushSubscriptions.endpoint, endpoint), eq(pushSubscriptions.userId, userId)))
    .returning({ endpoint: pushSubscriptions.endpoint });
  return rows.length > 0;
}

/** The push service said the subscription is gone (404/410). */
export async function deletePushSubscription(db: Executor, endpoint: string) {
  await db.delete(pushSubscriptions).where(eq(pushSubscriptions.endpoint, endpoint));
}

export async function deletePushSubscriptionsOfSessions(db: Executor, sessionIds: string[]) {
  if (sessionIds.length === 0) return;
  await db.delete(pushSubscriptions).where(inArray(pushSubscriptions.sessionId, sessionIds));
}

export async function pushSubscriptionsOfUser(db: Executor, userId: string) {
  return db.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, userId));
}

export interface PushTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
  userId: string;
  showMessageText: boolean;
}

/**
 * The push subscriptions of these members of a conversation that should hear about it: live
 * sessions only, and not while the member has the conversation muted.
 */
export async function pushTargets(db: Executor, conversationId: string, userIds: string[]): Promise<PushTarget[]> {
  return pushTargetsIn(db, [conversationId], userIds);
}

/**
 * pushTargets for several conversations at once (the messages one tick stored): each row is a
 * subscription of one of `userIds` that is a member of the row's conversation. The caller keeps
 * the (conversation, user) pairs it asked about. A prepared statement (it runs for nearly every
 * batch of sends): the lists go as JSON, so its text never varies.
 */
export async function pushTargetsIn(
  db: Executor,
  conversationIds: string[],
  userIds: string[],
): Promise<(PushTarget & { conversationId: string })[]> {
  if (userIds.length === 0 || conversationIds.length === 0) return [];
  return pushTargetsStatement(db, JSON.stringify(conversationIds), JSON.stringify(userIds));
}

const pushTargetsStatement = hotStatement<[string, string], PushTarget & { conversationId: string }>(
  (conversationIds, userIds) => sql`
    select ${pushSubscriptions.endpoint} as "endpoint", ${pushSubscriptions.p256dh} as "p256dh",
      ${pushSubscriptions.auth} as "auth", ${pushSubscriptions.userId} as "userId",
      coalesce(${notificationSettings.showMessageText}, true) as "showMessageText",
      ${members.conversationId} as "conversationId"
    from ${pushSubscriptions}
    join ${members} on ${members.userId} = ${pushSubscriptions.userId}
      and ${members.conversationId} in (select jsonb_array_elements_text(${conversationIds}::text::jsonb)::uuid)
    join ${sessions} on ${sessions.id} = ${pushSubscriptions.sessionId}
    left join ${notificationSettings} on ${notificationSettings.userId} = ${pushSubscriptions.userId}
    where ${pushSubscriptions.userId} in (select jsonb_array_elements_text(${userIds}::text::jsonb)::uuid)
      and ${sessions.revokedAt} is null and ${sessions.expiresAt} > now()
      and (${members.mutedUntil} is null or ${members.mutedUntil} <= now())
  `,
);

/** What a notification about this conversation is titled with: the group's title or the sender's name. */
export async function pushContext(db: Executor, conversationId: string, senderId: string) {
  const [row] = await db
    .select({ kind: conversations.kind, title: conversations.title, senderName: users.displayName })
    .from(conversations)
    .innerJoin(users, eq(users.id, senderId))
    .where(eq(conversations.id, conversationId));
  return row;
}

/** Mutes (until a time, or 'infinity') or unmutes (null) a conversation for one member; false if not a member. */
export async function setMemberMute(db: Executor, conversationId: string, userId: string, until: string | null) {
  const rows = await db
    .update(members)
    .set({ mutedUntil: until })
    .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)))
    .returning({ userId: members.userId });
  return rows.length > 0;
}

export async function notificationSettingsOf(db: Executor, userId: string) {
  const [row] = await db.select().from(notificationSettings).where(eq(notificationSettings.userId, userId));
  return { showMessageText: row?.showMessageText ?? true };
}

export async function saveNotificationSettings(db: Executor, userId: string, values: { showMessageText: boolean }) {
  await db
    .insert(notificationSettings)
    .values({ userId, ...values })
    .onConflictDoUpdate({ target: notificationSettings.userId, set: values });
}
