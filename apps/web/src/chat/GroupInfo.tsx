import { groupTitle } from '@parley/validators';
import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Avatar } from '../components/Avatar';
import { fieldErrorsOf, humanError, translateIssue } from '../errors';
import { formatRelative } from '../format';
import { navigate } from '../router';
import { trpc } from '../trpc';
import { MemberPicker, Modal } from './GroupDialog';
import { isOnline, lastSeen } from './helpers';
import { NamesakeMark } from './NamesakeMark';
import { namesakes } from './namesakes';
import { useChat, type ChatStore, type Conversation, type PublicUser } from './store';

export function GroupInfo({ store, c, onClose }: { store: ChatStore; c: Conversation; onClose: () => void }) {
  const me = useChat(store, (s) => s.me);
  const { t } = useTranslation('chat');
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
    const parsed = groupTitle.safeParse(title);
    if (!parsed.success) {
      setTitleError(translateIssue(parsed.error.issues[0]?.message ?? t('group.checkName')));
      return;
    }
    setTitleError(null);
    if (parsed.data !== c.title) rename.mutate({ conversationId: c.id, title: parsed.data });
  };
  const renameError =
    titleError ?? fieldErrorsOf(rename.error).title ?? (rename.error ? humanError(rename.error) : null);
  const members = [...c.members].sort((a, b) =>
    a.id === me ? -1 : b.id === me ? 1 : a.displayName.localeCompare(b.displayName),
  );
  const sharedNames = namesakes(c.members);

  return (
    <Modal title={t('group.details')} onClose={onClose}>
      <form onSubmit={submitRename} noValidate className="inline-form">
        <label htmlFor={titleId}>{t('group.name')}</label>
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
            {rename.isPending ? t('group.saving') : t('group.rename')}
          </button>
        </div>
        {renameError && (
          <p className="field-error" id={`${titleId}-err`}>
            {renameError}
          </p>
        )}
        {rename.isSuccess && !rename.isPending && (
          <p className="hint" role="status">
            {t('group.saved')}
          </p>
        )}
      </form>

      <h3 className="section-label">{t('members', { count: c.members.length })}</h3>
      {sharedNames.size > 0 && (
        <p className="notice namesake-warning" role="note">
          {t('namesake.warning', { count: sharedNames.size })}
        </p>
      )}
      <ul className="member-list">
        {members.map((m) => {
          const online = isOnline(m, presence);
          const seen = lastSeen(m, presence);
          return (
            <li key={m.id}>
              <Avatar name={m.displayName} seed={m.id} url={m.avatarUrl} online={online} size={32} />
              <span className="person-text">
                <span className="person-name">
                  {m.id === me ? t('group.you', { name: m.displayName }) : m.displayName}
                  {sharedNames.has(m.id) && <NamesakeMark />}
                </span>
                <span className="muted small">
                  {online
                    ? t('common:online')
                    : seen
                      ? t('view.lastSeen', { when: formatRelative(seen) })
                      : t('common:offline')}
                </span>
              </span>
            </li>
          );
        })}
      </ul>

      <div className="add-members">
        <MemberPicker
          key={pickerKey}
          picked={adding}
          setPicked={setAdding}
          exclude={c.members.map((m) => m.id)}
          label={t('group.addMembers')}
        />
        {add.error && (
          <p className="form-error small" role="alert">
            {humanError(add.error)}
          </p>
        )}
        {adding.length > 0 && (
          <button
            type="button"
            className="primary small"
            disabled={add.isPending}
            onClick={() => add.mutate({ conversationId: c.id, userIds: adding.map((a) => a.id) })}
          >
            {add.isPending ? t('group.adding') : t('group.addPeople', { count: adding.length })}
          </button>
        )}
      </div>

      <div className="leave-zone">
        {leave.error && (
          <p className="form-error small" role="alert">
            {humanError(leave.error)}
          </p>
        )}
        {confirmLeave ? (
          <div className="button-row">
            <button
              type="button"
              className="danger"
              disabled={leave.isPending}
              onClick={() => leave.mutate({ conversationId: c.id })}
            >
              {leave.isPending ? t('group.leaving') : t('group.confirmLeave')}
            </button>
            <button type="button" className="ghost" onClick={() => setConfirmLeave(false)}>
              {t('common:cancel')}
            </button>
          </div>
        ) : (
          <button type="button" className="danger-outline" onClick={() => setConfirmLeave(true)}>
            {t('group.leave')}
          </button>
        )}
      </div>
    </Modal>
  );
}
