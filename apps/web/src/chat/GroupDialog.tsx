import { groupTitle } from '@parley/validators';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Avatar } from '../components/Avatar';
import { fieldErrorsOf, humanError, translateIssue } from '../errors';
import { navigate } from '../router';
import { trpc } from '../trpc';
import type { ChatStore, PublicUser } from './store';
import { useDebounced } from './useDebounced';

type Picked = Pick<PublicUser, 'id' | 'displayName'>;

/**
 * A modal built on <dialog>: focus stays inside, Escape closes it, and focus goes back to what
 * opened it (React removes the element before close() runs, so the browser cannot restore it).
 */
export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: React.ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const { t } = useTranslation('common');
  useEffect(() => {
    const d = ref.current;
    const opener =
      document.activeElement instanceof HTMLElement && document.activeElement !== document.body
        ? document.activeElement
        : null;
    if (d && !d.open) d.showModal();
    return () => {
      d?.close();
      // Only when focus was left nowhere: an action that moved it on (a new chat's composer) keeps it.
      queueMicrotask(() => {
        const at = document.activeElement;
        if (opener?.isConnected && (!at || at === document.body || d?.contains(at))) opener.focus();
      });
    };
  }, []);
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: a click on the backdrop closes; Escape does the same from the keyboard (onCancel)
    <dialog
      ref={ref}
      className="modal"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        if (e.target === ref.current) onClose();
      }}
    >
      <div className="modal-body">
        <div className="modal-head">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="icon-button" aria-label={t('close')} onClick={onClose}>
            ✕
          </button>
        </div>
        {children}
      </div>
    </dialog>
  );
}

/** Search people and collect them; used to create a group and to add members to one. */
export function MemberPicker({
  picked,
  setPicked,
  exclude = [],
  label,
}: {
  picked: Picked[];
  setPicked: (p: Picked[]) => void;
  exclude?: string[];
  label?: string;
}) {
  const [query, setQuery] = useState('');
  const { t } = useTranslation('chat');
  const q = useDebounced(query.trim(), 200);
  const search = trpc.users.search.useQuery(
    { query: q, limit: 10 },
    { enabled: q.length > 0, placeholderData: (p) => p },
  );
  const inputId = useId();
  const results = (search.data ?? []).filter((u) => !exclude.includes(u.id));

  return (
    <div className="member-picker">
      <label htmlFor={inputId}>{label ?? t('picker.addPeople')}</label>
      {picked.length > 0 && (
        <ul className="chips" aria-label={t('picker.selected')}>
          {picked.map((p) => (
            <li key={p.id} className="chip">
              {p.displayName}
              <button
                type="button"
                aria-label={t('picker.remove', { name: p.displayName })}
                onClick={() => setPicked(picked.filter((x) => x.id !== p.id))}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <input
        id={inputId}
        type="search"
        placeholder={t('picker.placeholder')}
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        autoComplete="off"
      />
      {q.length > 0 && (
        <ul className="picker-results" aria-label={t('picker.results')}>
          {search.isPending && <li className="muted small">{t('picker.searching')}</li>}
          {!search.isPending && results.length === 0 && <li className="muted small">{t('picker.none')}</li>}
          {results.map((u) => {
            const chosen = picked.some((p) => p.id === u.id);
            return (
              <li key={u.id}>
                <button
                  type="button"
                  className="person-row compact"
                  aria-pressed={chosen}
                  onClick={() =>
                    setPicked(
                      chosen
                        ? picked.filter((p) => p.id !== u.id)
                        : [...picked, { id: u.id, displayName: u.displayName }],
                    )
                  }
                >
                  <Avatar name={u.displayName} seed={u.id} url={u.avatarUrl} size={30} />
                  <span className="person-name">{u.displayName}</span>
                  <span className="person-action">{chosen ? t('picker.added') : t('picker.add')}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

export function NewGroupDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [title, setTitle] = useState('');
  const { t } = useTranslation('chat');
  const [picked, setPicked] = useState<Picked[]>([]);
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const titleId = useId();
  const create = trpc.conversations.createGroup.useMutation({
    onSuccess: (c) => {
      store.adopt(c);
      onClose();
      navigate(`/c/${c.id}`);
    },
  });
  const errors = { ...fieldErrorsOf(create.error), ...clientErrors };
  // A field's complaint goes once that field is changed.
  const clearError = (field: string) =>
    setClientErrors((e) => {
      if (!(field in e)) return e;
      const { [field]: _gone, ...rest } = e;
      return rest;
    });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: Record<string, string> = {};
    const parsedTitle = groupTitle.safeParse(title);
    if (!parsedTitle.success)
      next.title = translateIssue(parsedTitle.error.issues[0]?.message ?? t('group.checkTitle'));
    if (picked.length === 0) next.memberIds = t('group.addAtLeastOne');
    setClientErrors(next);
    if (Object.keys(next).length) return;
    create.mutate({ title: title.trim(), memberIds: picked.map((p) => p.id) });
  };

  return (
    <Modal title={t('group.new')} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <label htmlFor={titleId}>{t('group.name')}</label>
        <input
          id={titleId}
          type="text"
          value={title}
          maxLength={100}
          onChange={(e) => {
            setTitle(e.target.value);
            clearError('title');
          }}
          aria-invalid={errors.title ? true : undefined}
          aria-describedby={errors.title ? `${titleId}-err` : undefined}
          // biome-ignore lint/a11y/noAutofocus: the dialog was just opened; its first field takes the focus
          autoFocus
        />
        {errors.title && (
          <p className="field-error" id={`${titleId}-err`}>
            {errors.title}
          </p>
        )}
        <MemberPicker
          picked={picked}
          setPicked={(p) => {
            setPicked(p);
            clearError('memberIds');
          }}
          exclude={[store.getState().me]}
        />
        {errors.memberIds && <p className="field-error">{errors.memberIds}</p>}
        {create.error && !Object.keys(fieldErrorsOf(create.error)).length && (
          <p className="form-error" role="alert">
            {humanError(create.error)}
          </p>
        )}
        <div className="button-row end">
          <button type="button" className="ghost" onClick={onClose}>
            {t('common:cancel')}
          </button>
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending
              ? t('group.creating')
              : picked.length
                ? t('group.createCount', { count: picked.length + 1 })
                : t('group.create')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
