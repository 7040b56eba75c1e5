import { updateProfileInput } from '@parley/validators';
import { useId, useState, type FormEvent } from 'react';
import { fieldErrorsOf, humanError, type FieldErrors } from '../errors';
import { useSession, useUser } from '../session';
import { trpc } from '../trpc';
import type { SettingsSection } from './sections';

function ProfileSettings() {
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
      for (const issue of parsed.error.issues) next[String(issue.path[0])] ??= issue.message;
      setClientErrors(next);
      return;
    }
    setClientErrors({});
    update.mutate(parsed.data);
  };
  const described = (name: string) =>
    errors[name] ? { 'aria-invalid': true as const, 'aria-describedby': `${id}-${name}-error` } : {};

  return (
    <form onSubmit={submit} noValidate>
      <p className="muted small">
        Signed in as {user.email}
        {user.emailVerified ? <span className="settings-ok"> · verified</span> : <span> · not verified yet</span>}
      </p>
      {!user.emailVerified && <ResendVerification />}
      <label htmlFor={`${id}-name`}>Display name</label>
      <input id={`${id}-name`} value={displayName} maxLength={64} autoComplete="nickname" onChange={(e) => setDisplayName(e.target.value)} {...described('displayName')} />
      {errors.displayName && <p className="field-error" id={`${id}-displayName-error`}>{errors.displayName}</p>}
      <label htmlFor={`${id}-about`}>About</label>
      <textarea id={`${id}-about`} value={about} maxLength={500} onChange={(e) => setAbout(e.target.value)} {...described('about')} />
      {errors.about ? <p className="field-error" id={`${id}-about-error`}>{errors.about}</p> : <p className="hint">Shown to people you talk with. Up to 500 characters.</p>}
      {update.error && !Object.keys(fieldErrorsOf(update.error)).length && <p className="form-error" role="alert">{humanError(update.error)}</p>}
      <div className="button-row">
        <button type="submit" className="primary" disabled={update.isPending}>{update.isPending ? 'Saving…' : 'Save profile'}</button>
        {saved && !update.isPending && <span role="status" className="settings-ok">Saved.</span>}
      </div>
    </form>
  );
}

function ResendVerification() {
  const resend = trpc.auth.resendVerification.useMutation();
  return (
    <p className="small">
      {resend.isSuccess ? (
        <span role="status">We sent a new link. Check your inbox.</span>
      ) : (
        <button type="button" className="link" disabled={resend.isPending} onClick={() => resend.mutate()}>
          Send the verification mail again
        </button>
      )}
      {resend.error && <span className="form-error" role="alert"> {humanError(resend.error)}</span>}
    </p>
  );
}

export const section: SettingsSection = { id: 'profile', title: 'accounts:settings.profile', order: 10, Component: ProfileSettings };
