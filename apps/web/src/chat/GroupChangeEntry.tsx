import type { GroupChange } from '@parley/protocol';
import { useTranslation } from 'react-i18next';
import { formatFull, formatList, formatTime } from '../format';
import type { Conversation } from './store';

/** Puts a group's timeline entries among its timeline's messages (an entry goes after message `afterSeq`). */
export function withGroupChanges<E extends { kind: string }>(
  entries: E[],
  changes: GroupChange[],
  seqOf: (e: E) => number | null,
): (E | { kind: 'change'; change: GroupChange })[] {
  if (changes.length === 0) return entries;
  const out: (E | { kind: 'change'; change: GroupChange })[] = [];
  let i = 0;
  for (const e of entries) {
    const seq = seqOf(e);
    for (; seq !== null && i < changes.length && changes[i]!.afterSeq < seq; i++)
      out.push({ kind: 'change', change: changes[i]! });
    out.push(e);
  }
  for (; i < changes.length; i++) out.push({ kind: 'change', change: changes[i]! });
  return out;
}

/** "Ada added Bob and you", "You renamed the group to “Crew”": names as members have them now, else as they were. */
export function describeGroupChange(
  change: GroupChange,
  c: Conversation,
  me: string,
  t: (key: string, opts?: Record<string, unknown>) => string,
) {
  const name = (id: string) =>
    c.members.find((m) => m.id === id)?.displayName ?? change.names[id] ?? t('common:someone');
  const you = change.actorId === me ? 'You' : '';
  const actor = name(change.actorId);
  const title = change.title ?? '';
  switch (change.kind) {
    case 'created':
      return t(`timeline.created${you}`, { actor, title });
    case 'renamed':
      return t(`timeline.renamed${you}`, { actor, title });
    case 'added':
      return t(`timeline.added${you}`, {
        actor,
        names: formatList(change.userIds.map((id) => (id === me ? t('timeline.youObject') : name(id)))),
      });
    case 'left':
      return t(`timeline.left${you}`, { actor });
  }
}

/** One entry of a group's timeline (who created, renamed, added, left). */
export function GroupChangeEntry({ change, c, me }: { change: GroupChange; c: Conversation; me: string }) {
  const { t } = useTranslation('chat');
  return (
    <div className="group-change" data-group-change={change.kind}>
      <span className="group-change-pill">
        <span>{describeGroupChange(change, c, me, (k, o) => t(k, o ?? {}))}</span>
        <time dateTime={change.createdAt} title={formatFull(change.createdAt)}>
          {formatTime(change.createdAt)}
        </time>
      </span>
    </div>
  );
}
