import { groupTitle } from '@parley/validators';
import { useId, useState, type FormEvent } from 'react';
import { Avatar } from '../components/Avatar';
import { fieldErrorsOf, humanError } from '../errors';
import { formatRelative } from '../format';
import { navigate } from '../router';
import { trpc } from '../trpc';
import { MemberPicker, Modal } from './GroupDialog';
import { isOnline, lastSeen } from './helpers';
import { useChat, type ChatStore, type Conversation, type PublicUser } from './store';

export function GroupInfo({ store, c, onClose }: { store: ChatStore; c: Conversation; onClose: () => void }) {
  const me = useChat(store, (s) => s.me);
  const presence = useChat(store, (s) => s.presence);
  const [title, setTitle] = useState(c.title ?? '');
  const [titleError, setTitleError] = useState<string | null>(null);
  const [adding, setAdding] = useState<Pick<PublicUser, 'id' | 'displayName'>[]>([]);
  const [confirmLeave, setConfirmLeave] = useState(false);
  /** Bumped after adding people, to clear the picker's search. */
  const [pickerKey, setPickerKey] = useState(0);
  const titleId = useId();

  const rename = trpc.conversations.rename.useMutation({
    onSuccess: (x) => {
      store.adopt(x);
      void store.fetchConversation(c.id);
    },
  });
  const add = trpc.conversations.addMembers.useMutation({
    onSuccess: (x) => {
      store.adopt(x);
      void store.fetchConversation(c.id);
      setAdding([]);
      setPickerKey((k) => k + 1);
    },
  });
  const leave = trpc.conversations.leave.useMutation({
    onSuccess: () => {
      store.forget(c.id);
      onClose();
      navigate('/');
    },
  });

  const submitRename = (e: FormEvent) => {
    e.preventDefault();
    const t = groupTitle.safeParse(title);
    if (!t.success) {
      setTitleError(t.error.issues[0]?.message ?? 'Check the name');
      return;
    }
    setTitleError(null);
    if (t.data !== c.title) rename.mutate({ conversationId: c.id, title: t.data });
  };
  const renameError = titleError ?? fieldErrorsOf(rename.error).title ?? (rename.error ? humanError(rename.error) : null);
  const members = [...c.members].sort((a, b) => (a.id === me ? -1 : b.id === me ? 1 : a.displayName.localeCompare(b.displayName)));

  return (
    <Modal title="Group details" onClose={onClose}>
      <form onSubmit={submitRename} noValidate className="inline-form">
        <label htmlFor={titleId}>Group name</label>
        <div className="input-row">
          <input
            id={titleId}
            type="text"
            value={title}
            maxLength={100}
            onChange={(e) => setTitle(e.target.value)}
            aria-invalid={renameError ? true : undefined}
            aria-describedby={renameError ? `${titleId}-err` : undefined}
          />
          <button type="submit" className="secondary" disabled={rename.isPending || title.trim() === (c.title ?? '')}>
            {rename.isPending ? 'Saving…' : 'Rename'}
          </button>
        </div>
        {renameError && <p className="field-error" id={`${titleId}-err`}>{renameError}</p>}
        {rename.isSuccess && !rename.isPending && <p className="hint" role="status">Saved.</p>}
      </form>

      <h3 className="section-label">{c.members.length} members</h3>
      <ul className="member-list">
        {members.map((m) => {
          const online = isOnline(m, presence);
          const seen = lastSeen(m, presence);
          return (
            <li key={m.id}>
              <Avatar name={m.displayName} seed={m.id} online={online} size={32} />
              <span className="person-text">
                <span className="person-name">{m.id === me ? `${m.displayName} (you)` : m.displayName}</span>
                <span className="muted small">{online ? 'Online' : seen ? `Last seen ${formatRelative(seen)}` : 'Offline'}</span>
              </span>
            </li>
          );
        })}
      </ul>

      <div className="add-members">
        <MemberPicker key={pickerKey} picked={adding} setPicked={setAdding} exclude={c.members.map((m) => m.id)} label="Add members" />
        {add.error && <p className="form-error small" role="alert">{humanError(add.error)}</p>}
        {adding.length > 0 && (
          <button
            type="button"
            className="primary small"
            disabled={add.isPending}
            onClick={() => add.mutate({ conversationId: c.id, userIds: adding.map((a) => a.id) })}
          >
            {add.isPending ? 'Adding…' : `Add ${adding.length} ${adding.length === 1 ? 'person' : 'people'}`}
          </button>
        )}
      </div>

      <div className="leave-zone">
        {leave.error && <p className="form-error small" role="alert">{humanError(leave.error)}</p>}
        {confirmLeave ? (
          <div className="button-row">
            <button type="button" className="danger" disabled={leave.isPending} onClick={() => leave.mutate({ conversationId: c.id })}>
              {leave.isPending ? 'Leaving…' : 'Yes, leave group'}
            </button>
            <button type="button" className="ghost" onClick={() => setConfirmLeave(false)}>Cancel</button>
          </div>
        ) : (
          <button type="button" className="danger-outline" onClick={() => setConfirmLeave(true)}>
            Leave group
          </button>
        )}
      </div>
    </Modal>
  );
}
