import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { LanguageSelect } from './LanguageSelect';

/**
 * Language, theme and sounds: one section of the settings page (its own component, so that the
 * settings page only places it).
 */
export function PreferencesSection() {
  const { t } = useTranslation('settings');
  const headingId = useId();
  return (
    <section className="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId} className="section-label">{t('preferences.title')}</h3>
      <LanguageSelect />
    </section>
  );
}

/** Placed on the settings page (accounts' settings/sections.ts finds every *Section.tsx exporting `section`). */
export const section = { id: 'preferences', title: 'settings:preferences.title', order: 20, Component: PreferencesSection };
