import QRCode from 'qrcode';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { useSession, useUser } from '../session';
import { trpc } from '../trpc';

/** Two-factor sign-in: set up with a QR code (drawn here, never sent anywhere), enable, show recovery codes once, disable. */
export function TwoFactor() {
  const { t } = useTranslation('accounts');
  const user = useUser();
  const { updateUser } = useSession();
  const utils = trpc.useUtils();
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [qr, setQr] = useState<string | null>(null);
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const id = useId();
  const setup = trpc.auth.totp.setup.useMutation({
    onSuccess: (s) => void QRCode.toDataURL(s.otpauthUrl, { margin: 1, width: 200 }).then(setQr),
  });
  const refresh = async () => updateUser(await utils.auth.me.fetch());
  const enable = trpc.auth.totp.enable.useMutation({
    onSuccess: (r) => {
      setRecovery(r.recoveryCodes);
      setCode('');
      setup.reset();
      void refresh();
    },
  });
  const disable = trpc.auth.totp.disable.useMutation({
    onSuccess: () => {
      setCode('');
      setPassword('');
      setRecovery(null);
      void refresh();
    },
  });
  useEffect(() => () => setQr(null), []);

  const submitEnable = (e: FormEvent) => {
    e.preventDefault();
    if (code.trim()) enable.mutate({ code });
  };
  const submitDisable = (e: FormEvent) => {
    e.preventDefault();
    if (code.trim() && password) disable.mutate({ password, code });
  };

  return (
    <div aria-labelledby={`${id}-title`} role="group">
      <h3 id={`${id}-title`}>{t('twoFactor.title')}</h3>
      {recovery && (
        <div className="notice" role="status">
          <p>
            <strong>{t('twoFactor.isOn')}</strong> {t('twoFactor.keepCodes', { count: recovery.length })}
          </p>
          <ul className="recovery-codes" aria-label={t('twoFactor.codesLabel')}>
            {recovery.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
        </div>
      )}
      {user.totpEnabled ? (
        <form onSubmit={submitDisable} noValidate>
          {!recovery && <p className="muted">{t('twoFactor.on')}</p>}
          <label htmlFor={`${id}-pw`}>{t('twoFactor.password')}</label>
          <input
            id={`${id}-pw`}
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <label htmlFor={`${id}-off`}>{t('twoFactor.codeOrRecovery')}</label>
          <input
            id={`${id}-off`}
            inputMode="text"
            autoComplete="one-time-code"
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          {disable.error && (
            <p className="form-error" role="alert">
              {disable.error.data?.code === 'UNAUTHORIZED' ? t('twoFactor.wrong') : humanError(disable.error)}
            </p>
          )}
          <div className="button-row">
            <button type="submit" className="danger-outline" disabled={disable.isPending}>
              {t('twoFactor.turnOff')}
            </button>
          </div>
        </form>
      ) : setup.data ? (
        <form onSubmit={submitEnable} noValidate>
          <p>{t('twoFactor.scan')}</p>
          {qr && <img className="qr-code" src={qr} alt={t('twoFactor.qr')} width={200} height={200} />}
          <p className="small muted">
            {t('twoFactor.orKey')} <span className="secret-text">{setup.data.secret}</span>
          </p>
          <label htmlFor={`${id}-code`}>{t('twoFactor.code')}</label>
          <input
            id={`${id}-code`}
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={8}
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          {enable.error && (
            <p className="form-error" role="alert">
              {humanError(enable.error)}
            </p>
          )}
          <div className="button-row">
            <button type="submit" className="primary" disabled={enable.isPending}>
              {t('twoFactor.turnOn')}
            </button>
            <button type="button" className="ghost" onClick={() => setup.reset()}>
              {t('common:cancel')}
            </button>
          </div>
        </form>
      ) : (
        <div className="settings-row">
          <p className="muted">{t('twoFactor.off')}</p>
          <button type="button" className="secondary" disabled={setup.isPending} onClick={() => setup.mutate()}>
            {t('twoFactor.setUp')}
          </button>
          {setup.error && (
            <p className="form-error" role="alert">
              {humanError(setup.error)}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
