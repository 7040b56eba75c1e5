import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { setPreferences, THEMES, usePreferences } from './preferences';

export function ThemeSelect() {
  const { t } = useTranslation('settings');
  const { theme } = usePreferences();
  const name = useId();
  return (
    <div className="setting-row">
      <fieldset>
        <legend>{t('theme.label')}</legend>
        {THEMES.map((th) => (
          <label key={th} className="choice">
            <input
              type="radio"
              name={name}
              value={th}
              checked={theme === th}
              onChange={() => setPreferences({ theme: th })}
            />
            {t(`theme.${th}`)}
          </label>
        ))}
      </fieldset>
    </div>
  );
}
