import { linkHandler } from '../router';
import type { SettingsSection } from './sections';

function SecuritySettings() {
  return (
    <>
      <h3>Devices and sessions</h3>
      <div className="settings-row">
        <p className="muted">See where you are signed in, and sign out other devices.</p>
        <a href="/sessions" className="secondary" onClick={linkHandler('/sessions')}>Devices and sessions</a>
      </div>
    </>
  );
}

export const section: SettingsSection = { id: 'security', title: 'accounts:settings.security', order: 40, Component: SecuritySettings };
