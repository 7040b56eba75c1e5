import { useTranslation } from 'react-i18next';
import { Modal } from '../chat/GroupDialog';
import { PreferencesSection } from './PreferencesSection';

/** Until the settings page exists: the preferences in a dialog from the account bar. */
export function SettingsDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation('settings');
  return (
    <Modal title={t('title')} onClose={onClose}>
      <PreferencesSection />
    </Modal>
  );
}
