import { NotificationSettings } from '../notifications/NotificationSettings';
import type { SettingsSection } from './sections';

/** Placed on the settings page by sections.ts; the contents live with the rest of notifications. */
export const section: SettingsSection = {
  id: 'notifications',
  title: 'notifications:settings.title',
  order: 30,
  Component: NotificationSettings,
};
