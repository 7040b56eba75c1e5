import {
  browserSupportsWebAuthn,
  startAuthentication,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { useSession } from '../session';
import { trpc } from '../trpc';

/** Sign in with a passkey, no email typed: the authenticator offers the accounts it holds. */
export function PasskeySignIn() {
  const { t } = useTranslation('auth');
  const { signedIn } = useSession();
  const options = trpc.auth.passkeys.loginOptions.useMutation();
  const login = trpc.auth.passkeys.login.useMutation({ onSuccess: (r) => signedIn(r.user) });
  const [browserError, setBrowserError] = useState<string | null>(null);
  if (!browserSupportsWebAuthn()) return null;

  const go = async () => {
    setBrowserError(null);
    try {
      // tRPC's inferred JSON type differs from the browser library's only in extension buffer types.
      const optionsJSON = (await options.mutateAsync()) as unknown as PublicKeyCredentialRequestOptionsJSON;
      const response = await startAuthentication({ optionsJSON });
      await login.mutateAsync({ response: { ...response, response: { ...response.response } } });
    } catch (err) {
      if (!(err as { data?: unknown }).data) setBrowserError(t('passkey.notUsed'));
    }
  };
  const error = options.error ?? login.error;
  return (
    <div className="passkey-signin">
      <p className="muted small">{t('passkey.or')}</p>
      <button
        type="button"
        className="secondary wide"
        disabled={options.isPending || login.isPending}
        onClick={() => void go()}
      >
        {t('passkey.signIn')}
      </button>
      {(browserError || error) && (
        <p className="form-error" role="alert">
          {browserError ?? (error?.data?.code === 'UNAUTHORIZED' ? t('passkey.refused') : humanError(error))}
        </p>
      )}
    </div>
  );
}
