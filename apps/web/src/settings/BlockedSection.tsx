import { humanError } from '../errors';
import { formatRelative } from '../format';
import { trpc } from '../trpc';
import type { SettingsSection } from './sections';

function BlockedPeople() {
  const blocked = trpc.users.blocked.useQuery(undefined, { staleTime: 0 });
  const utils = trpc.useUtils();
  const unblock = trpc.users.unblock.useMutation({ onSettled: () => void utils.users.blocked.invalidate() });
  return (
    <>
      <p className="muted">
        People you blocked cannot write to you or call you in a direct chat, and do not see when you are online. They are
        not told. In groups you share, their messages are hidden until you choose to see one.
      </p>
      {blocked.isPending && <p className="muted" role="status">Loading…</p>}
      {blocked.error && <p className="form-error" role="alert">{humanError(blocked.error)}</p>}
      {blocked.data?.length === 0 && <p className="muted">You have not blocked anyone.</p>}
      {blocked.data && blocked.data.length > 0 && (
        <ul className="settings-list" aria-label="Blocked people">
          {blocked.data.map((u) => (
            <li key={u.id}>
              <span>
                <strong>{u.displayName}</strong> <span className="muted small">blocked {formatRelative(u.blockedAt)}</span>
              </span>
              <button type="button" className="ghost small" aria-label={`Unblock ${u.displayName}`} disabled={unblock.isPending} onClick={() => unblock.mutate({ userId: u.id })}>
                Unblock
              </button>
            </li>
          ))}
        </ul>
      )}
      {unblock.error && <p className="form-error" role="alert">{humanError(unblock.error)}</p>}
    </>
  );
}

export const section: SettingsSection = { id: 'blocked', title: 'accounts:settings.blocked', order: 60, Component: BlockedPeople };
