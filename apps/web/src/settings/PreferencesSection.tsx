import { useTranslation } from 'react-i18next';
import { OPEN_SHORTCUTS } from '../chat/Shortcuts';
import type { SettingsSection } from './sections';
import { LanguageSelect } from './LanguageSelect';
import { ThemeSelect } from './ThemeSelect';

/** Language and theme (sounds are in the notifications section), and the list of keyboard shortcuts. */
export function PreferencesSection() {
  const { t } = useTranslation('settings');
  return (
    <div className="preferences">
      <LanguageSelect />
      <ThemeSelect />
      <div className="setting-row">
        <button
          type="button"
          className="secondary small"
          aria-haspopup="dialog"
          onClick={() => window.dispatchEvent(new Event(OPEN_SHORTCUTS))}
        >
          {t('shortcuts.open')}
        </button>
      </div>
    </div>
  );
}

/** Placed on the settings page (accounts' settings/sections.ts finds every *Section.tsx exporting `section`). */
export const section: SettingsSection = {
  id: 'preferences',
  title: 'settings:preferences.title',
  order: 20,
  Component: PreferencesSection,
};
