import { updateProfileInput } from '@parley/validators';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { formatSize, MAX_UPLOAD_BYTES, UploadRefused, uploadFile } from '../chat/attachments/Attachments';
import { Avatar } from '../components/Avatar';
import { fieldErrorsOf, humanError, translateIssue, type FieldErrors } from '../errors';
import { formatNumber } from '../format';
import { useSession, useUser } from '../session';
import { trpc } from '../trpc';
import type { SettingsSection } from './sections';

function ProfileSettings() {
  const { t } = useTranslation('accounts');
  const user = useUser();
  const { updateUser } = useSession();
  const [displayName, setDisplayName] = useState(user.displayName);
  const [about, setAbout] = useState(user.about);
  const [clientErrors, setClientErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState(false);
  const update = trpc.users.updateProfile.useMutation({
    onSuccess: (u) => {
      updateUser(u);
      setSaved(true);
    },
  });
  const id = useId();
  const errors = { ...fieldErrorsOf(update.error), ...clientErrors };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const parsed = updateProfileInput.safeParse({ displayName, about });
    if (!parsed.success) {
      const next: FieldErrors = {};
      for (const issue of parsed.error.issues) next[String(issue.path[0])] ??= translateIssue(issue.message);
      setClientErrors(next);
      return;
    }
    setClientErrors({});
    update.mutate(parsed.data);
  };
  const described = (name: string) =>
    errors[name] ? { 'aria-invalid': true as const, 'aria-describedby': `${id}-${name}-error` } : {};

  return (
    <>
      <ProfilePicture />
      <form onSubmit={submit} noValidate>
        <p className="muted small">
          {t('profile.signedInAs', { email: user.email })}
          {' · '}
          {user.emailVerified ? (
            <span className="settings-ok">{t('profile.verified')}</span>
          ) : (
            <span>{t('profile.notVerified')}</span>
          )}
        </p>
        {!user.emailVerified && <ResendVerification />}
        <label htmlFor={`${id}-name`}>{t('profile.displayName')}</label>
        <input
          id={`${id}-name`}
          value={displayName}
          maxLength={64}
          autoComplete="nickname"
          onChange={(e) => setDisplayName(e.target.value)}
          {...described('displayName')}
        />
        {errors.displayName && (
          <p className="field-error" id={`${id}-displayName-error`}>
            {errors.displayName}
          </p>
        )}
        <label htmlFor={`${id}-about`}>{t('profile.about')}</label>
        <textarea
          id={`${id}-about`}
          value={about}
          maxLength={500}
          onChange={(e) => setAbout(e.target.value)}
          {...described('about')}
        />
        {errors.about ? (
          <p className="field-error" id={`${id}-about-error`}>
            {errors.about}
          </p>
        ) : (
          <p className="hint">{t('profile.aboutHint', { max: formatNumber(500) })}</p>
        )}
        {update.error && !Object.keys(fieldErrorsOf(update.error)).length && (
          <p className="form-error" role="alert">
            {humanError(update.error)}
          </p>
        )}
        <div className="button-row">
          <button type="submit" className="primary" disabled={update.isPending}>
            {update.isPending ? t('profile.saving') : t('profile.save')}
          </button>
          {saved && !update.isPending && (
            <span role="status" className="settings-ok">
              {t('profile.saved')}
            </span>
          )}
        </div>
      </form>
    </>
  );
}

/**
 * The profile picture: chosen here, uploaded as an attachment without a conversation (the chat's
 * upload client, with its progress), then set with users.updateProfile; shown wherever the
 * initials were.
 */
function ProfilePicture() {
  const { t } = useTranslation('accounts');
  const { t: tFiles } = useTranslation('files');
  const user = useUser();
  const { updateUser } = useSession();
  const input = useRef<HTMLInputElement>(null);
  const xhr = useRef<XMLHttpRequest | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<'saved' | 'removed' | null>(null);
  const save = trpc.users.updateProfile.useMutation({ onSuccess: (u) => updateUser(u) });
  const id = useId();
  // The local preview's object URL is released when it is replaced or the section goes.
  useEffect(() => (preview ? () => URL.revokeObjectURL(preview) : undefined), [preview]);

  const choose = async (file: File | undefined) => {
    if (input.current) input.current.value = '';
    if (!file) return;
    setError(null);
    setStatus(null);
    if (!file.type.startsWith('image/')) {
      setError(t('profile.picture.notImage', { name: file.name }));
      return;
    }
    setPreview(URL.createObjectURL(file));
    setProgress(0);
    try {
      const attachment = await uploadFile(file, undefined, setProgress, (x) => (xhr.current = x), tFiles);
      await save.mutateAsync({ avatarAttachmentId: attachment.id });
      setStatus('saved');
    } catch (err) {
      if (!(err instanceof UploadRefused && err.message === 'cancelled')) {
        setError(err instanceof UploadRefused ? err.message : humanError(err));
      }
    } finally {
      xhr.current = null;
      setProgress(null);
      setPreview(null);
    }
  };
  const remove = async () => {
    setError(null);
    setStatus(null);
    try {
      await save.mutateAsync({ avatarAttachmentId: null });
      setStatus('removed');
    } catch (err) {
      setError(humanError(err));
    }
  };
  const busy = progress !== null || save.isPending;

  return (
    <div className="profile-picture" aria-labelledby={`${id}-heading`} role="group">
      <Avatar name={user.displayName} seed={user.id} url={preview ?? user.avatarUrl} size={72} />
      <div className="profile-picture-actions">
        <h3 id={`${id}-heading`}>{t('profile.picture.title')}</h3>
        <input
          ref={input}
          id={`${id}-file`}
          type="file"
          accept="image/*"
          hidden
          data-testid="avatar-input"
          onChange={(e) => void choose(e.target.files?.[0])}
        />
        {progress !== null ? (
          <div className="button-row">
            <progress max={1} value={progress} aria-label={t('profile.picture.progress')} />
            <button type="button" className="secondary" onClick={() => xhr.current?.abort()}>
              {t('profile.picture.cancel')}
            </button>
          </div>
        ) : (
          <div className="button-row">
            <button type="button" className="secondary" disabled={busy} onClick={() => input.current?.click()}>
              {user.avatarUrl ? t('profile.picture.change') : t('profile.picture.choose')}
            </button>
            {user.avatarUrl && (
              <button type="button" className="link" disabled={busy} onClick={() => void remove()}>
                {t('profile.picture.remove')}
              </button>
            )}
          </div>
        )}
        <p className="hint">{t('profile.picture.hint', { max: formatSize(MAX_UPLOAD_BYTES) })}</p>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <p role="status" className="settings-ok small">
          {status === 'saved' ? t('profile.picture.saved') : status === 'removed' ? t('profile.picture.removed') : ''}
        </p>
      </div>
    </div>
  );
}

function ResendVerification() {
  const { t } = useTranslation('accounts');
  const resend = trpc.auth.resendVerification.useMutation();
  return (
    <p className="small">
      {resend.isSuccess ? (
        <span role="status">{t('profile.resent')}</span>
      ) : (
        <button type="button" className="link" disabled={resend.isPending} onClick={() => resend.mutate()}>
          {t('profile.resend')}
        </button>
      )}
      {resend.error && (
        <span className="form-error" role="alert">
          {' '}
          {humanError(resend.error)}
        </span>
      )}
    </p>
  );
}

export const section: SettingsSection = {
  id: 'profile',
  title: 'accounts:settings.profile',
  order: 10,
  Component: ProfileSettings,
};
