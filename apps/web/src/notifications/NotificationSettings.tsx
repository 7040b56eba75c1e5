import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { parley } from '../trpc';
import { setShowMessageText } from './Notifier';
import { setAlertPrefs, useAlertPrefs } from './prefs';
import { enableNotifications, useNotificationPermission } from './push';
import './notifications.css';

/** Notifications and sounds: the contents of the settings page's "Notifications" section. */
export function NotificationSettings() {
  const { t } = useTranslation('notifications');
  const permission = useNotificationPermission();
  const prefs = useAlertPrefs();
  const [showText, setShowText] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    parley.api.notifications.settings.query().then(
      (s) => live && setShowText(s.showMessageText),
      (err: unknown) => live && setError(humanError(err)),
    );
    return () => {
      live = false;
    };
  }, []);

  const changeShowText = async (value: boolean) => {
    setShowText(value);
    setError(null);
    try {
      const saved = await parley.api.notifications.updateSettings.mutate({ showMessageText: value });
      setShowText(saved.showMessageText);
      setShowMessageText(saved.showMessageText);
    } catch (err) {
      setShowText(!value);
      setError(humanError(err));
    }
  };

  return (
    <div className="notify-section">
      {permission === 'granted' ? (
        <p className="muted small">{t('settings.on')}</p>
      ) : permission === 'denied' ? (
        <p className="muted small">{t('settings.blocked')}</p>
      ) : permission === 'unsupported' ? (
        <p className="muted small">{t('settings.unsupported')}</p>
      ) : (
        <button type="button" className="secondary small-btn" onClick={() => void enableNotifications()}>
          {t('prompt.enable')}
        </button>
      )}
      <label>
        <input
          type="checkbox"
          checked={showText ?? true}
          disabled={showText === null}
          onChange={(e) => void changeShowText(e.target.checked)}
        />
        {t('settings.showText')}
      </label>
      <label>
        <input
          type="checkbox"
          checked={prefs.messageSound}
          onChange={(e) => setAlertPrefs({ messageSound: e.target.checked })}
        />
        {t('settings.messageSound')}
      </label>
      <label>
        <input
          type="checkbox"
          checked={prefs.ringtone}
          onChange={(e) => setAlertPrefs({ ringtone: e.target.checked })}
        />
        {t('settings.ringtone')}
      </label>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
