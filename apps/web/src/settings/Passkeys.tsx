import { startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { useId, useState, type FormEvent } from 'react';
import { humanError } from '../errors';
import { formatRelative } from '../format';
import { trpc } from '../trpc';

/** Passkeys of this account: add (named), list, remove. */
export function Passkeys() {
  const list = trpc.auth.passkeys.list.useQuery();
  const options = trpc.auth.passkeys.registerOptions.useMutation();
  const register = trpc.auth.passkeys.register.useMutation({ onSuccess: () => void list.refetch() });
  const remove = trpc.auth.passkeys.remove.useMutation({ onSettled: () => void list.refetch() });
  const [name, setName] = useState('');
  const [browserError, setBrowserError] = useState<string | null>(null);
  const id = useId();

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setBrowserError(null);
    const label = name.trim() || 'Passkey';
    try {
      // The server's options as JSON; tRPC's inferred type differs from the browser library's only in
      // the (unused) prf extension's buffer types.
      const optionsJSON = (await options.mutateAsync()) as unknown as PublicKeyCredentialCreationOptionsJSON;
      const response = await startRegistration({ optionsJSON });
      await register.mutateAsync({ name: label, response: { ...response, response: { ...response.response } } });
      setName('');
    } catch (err) {
      if (!(err as { data?: unknown }).data) setBrowserError('The passkey was not created (cancelled, or not supported by this browser).');
    }
  };
  const error = options.error ?? register.error;

  return (
    <div role="group" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Passkeys</h3>
      <p className="muted">Sign in with your fingerprint, face or device PIN instead of a password.</p>
      {list.data && list.data.length > 0 && (
        <ul className="settings-list" aria-label="Your passkeys">
          {list.data.map((p) => (
            <li key={p.id}>
              <span>
                <strong>{p.name}</strong>{' '}
                <span className="muted small">added {formatRelative(p.createdAt)}{p.lastUsedAt ? `, used ${formatRelative(p.lastUsedAt)}` : ''}</span>
              </span>
              <button type="button" className="ghost small" aria-label={`Remove passkey ${p.name}`} disabled={remove.isPending} onClick={() => remove.mutate({ id: p.id })}>Remove</button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={(e) => void add(e)} noValidate>
        <label htmlFor={`${id}-name`}>Name for a new passkey</label>
        <input id={`${id}-name`} value={name} maxLength={64} placeholder="e.g. Work laptop" onChange={(e) => setName(e.target.value)} />
        {(browserError || error) && <p className="form-error" role="alert">{browserError ?? humanError(error)}</p>}
        {register.isSuccess && <p className="settings-ok" role="status">Passkey added.</p>}
        <div className="button-row">
          <button type="submit" className="secondary" disabled={options.isPending || register.isPending}>Add a passkey</button>
        </div>
      </form>
    </div>
  );
}
