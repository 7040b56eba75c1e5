import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, setLanguage, type Language } from '../i18n';

/** The UI language; every date and number follows it. Remembered on this device. */
export function LanguageSelect() {
  const { t, i18n } = useTranslation('settings');
  const id = useId();
  return (
    <div className="setting-row">
      <label htmlFor={id}>{t('language.label')}</label>
      <select id={id} value={i18n.language} onChange={(e) => setLanguage(e.target.value as Language)}>
        {LANGUAGES.map((l) => (
          // Each language named in itself, so that someone who cannot read the current one finds theirs.
          <option key={l.code} value={l.code} lang={l.code}>
            {l.name}
          </option>
        ))}
      </select>
    </div>
  );
}
