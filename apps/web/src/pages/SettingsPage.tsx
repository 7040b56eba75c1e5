import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { linkHandler } from '../router';
import { settingsSections } from '../settings/sections';
import '../settings/settings.css';

/** Profile, appearance, notifications, security, blocked people and the account: one page, one section each. */
export function SettingsPage() {
  const { t } = useTranslation('accounts');
  useEffect(() => {
    // Deep links (/settings#security) land on their section once it has rendered.
    const id = window.location.hash.slice(1);
    if (id) document.getElementById(`settings-${id}`)?.scrollIntoView();
  }, []);

  return (
    <section className="page settings-page" aria-labelledby="settings-title">
      <header className="page-header">
        <a href="/" className="back-link" onClick={linkHandler('/')}>
          <span aria-hidden="true">←</span> {t('settings.back')}
        </a>
        <h1 id="settings-title">{t('settings.title')}</h1>
      </header>
      <nav className="settings-nav" aria-label={t('settings.sectionsNav')}>
        <ul>
          {settingsSections.map((s) => (
            <li key={s.id}>
              <a
                href={`#${s.id}`}
                onClick={(e) => {
                  e.preventDefault();
                  document.getElementById(`settings-${s.id}`)?.scrollIntoView({ behavior: 'smooth' });
                  window.history.replaceState(null, '', `#${s.id}`);
                }}
              >
                {t(s.title)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {settingsSections.map(({ id, title, Component }) => (
        <section key={id} id={`settings-${id}`} className="settings-section" aria-labelledby={`settings-${id}-title`}>
          <h2 id={`settings-${id}-title`}>{t(title)}</h2>
          <Component />
        </section>
      ))}
    </section>
  );
}
