import { useMemo, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { trpc } from '../trpc';

/** The ids of the people the signed-in user blocked. */
export function useBlockedIds(): Set<string> {
  const blocked = trpc.users.blocked.useQuery(undefined, { staleTime: 60_000 });
  return useMemo(() => new Set((blocked.data ?? []).map((u) => u.id)), [blocked.data]);
}

/** In groups, a blocked member's messages stay hidden until the reader asks to see one. */
export function BlockedGate({ senderId, group, children }: { senderId: string; group: boolean; children: ReactNode }) {
  const { t } = useTranslation('accounts');
  const blocked = useBlockedIds();
  const [shown, setShown] = useState(false);
  if (!group || shown || !blocked.has(senderId)) return <>{children}</>;
  return (
    <div className="bubble-row blocked-message">
      <button type="button" className="link small" onClick={() => setShown(true)}>
        {t('blocking.hidden')}
      </button>
    </div>
  );
}

/** Block or unblock the other person of a direct chat (they are not told). */
export function BlockButton({ userId, name }: { userId: string; name: string }) {
  const { t } = useTranslation('accounts');
  const blocked = useBlockedIds();
  const utils = trpc.useUtils();
  const [confirming, setConfirming] = useState(false);
  const done = { onSuccess: () => void utils.users.blocked.invalidate(), onSettled: () => setConfirming(false) };
  const block = trpc.users.block.useMutation(done);
  const unblock = trpc.users.unblock.useMutation(done);
  const isBlocked = blocked.has(userId);
  const error = block.error ?? unblock.error;
  if (isBlocked) {
    return (
      <button
        type="button"
        className="ghost small"
        disabled={unblock.isPending}
        onClick={() => unblock.mutate({ userId })}
      >
        {t('blocking.unblock')}
      </button>
    );
  }
  return confirming ? (
    <span className="button-row" role="group" aria-label={t('blocking.confirm', { name })}>
      <button
        type="button"
        className="danger small"
        // biome-ignore lint/a11y/noAutofocus: the confirmation just replaced the button pressed; focus moves to it
        autoFocus
        disabled={block.isPending}
        onClick={() => block.mutate({ userId })}
      >
        {t('blocking.blockName', { name })}
      </button>
      <button type="button" className="ghost small" onClick={() => setConfirming(false)}>
        {t('common:cancel')}
      </button>
      {error && (
        <span className="form-error small" role="alert">
          {humanError(error)}
        </span>
      )}
    </span>
  ) : (
    <button type="button" className="ghost small" onClick={() => setConfirming(true)} title={t('blocking.notTold')}>
      {t('blocking.block')}
    </button>
  );
}
