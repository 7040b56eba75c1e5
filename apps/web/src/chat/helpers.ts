import { i18n } from '../i18n';
import { activity, type ChatState, type Conversation, type PublicUser } from './store';

/**
 * The chat list, newest activity first. A direct chat opened from search but never written in is
 * not listed (for either person) until its first message: opening is not starting a chat.
 */
export function listedConversations(conversations: ChatState['conversations']): Conversation[] {
  return Object.values(conversations)
    .filter((c) => c.kind === 'group' || c.lastMessage !== null)
    .sort((a, b) => activity(b) - activity(a));
}

export function otherMembers(c: Conversation, me: string) {
  return c.members.filter((m) => m.id !== me);
}

export function conversationTitle(c: Conversation, me: string) {
  if (c.kind === 'group')
    return (
      c.title?.trim() ||
      otherMembers(c, me)
        .map((m) => m.displayName)
        .join(', ') ||
      i18n.t('chat:title.group')
    );
  return otherMembers(c, me)[0]?.displayName ?? i18n.t('chat:title.justYou');
}

export function isOnline(u: Pick<PublicUser, 'id' | 'online'>, presence: ChatState['presence']) {
  return presence[u.id]?.online ?? u.online;
}

export function lastSeen(u: PublicUser, presence: ChatState['presence']) {
  return presence[u.id]?.lastSeenAt ?? u.lastSeenAt;
}

export function memberName(c: Conversation | undefined, userId: string, me: string) {
  if (userId === me) return i18n.t('common:you');
  return c?.members.find((m) => m.id === userId)?.displayName ?? i18n.t('common:someone');
}
