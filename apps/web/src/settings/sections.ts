/// <reference types="vite/client" />
import type { ComponentType } from 'react';

/**
 * One section of the settings page. To add one, create `apps/web/src/settings/<Name>Section.tsx`
 * exporting `export const section: SettingsSection = { id, title, order, Component }` (`title` is an
 * i18n key with its namespace, e.g. 'files:settings.title'): the page
 * finds every such file itself (no list to edit). `id` is the anchor (`/settings#<id>`);
 * `order` places it (profile 10, appearance 20, notifications 30, security 40, blocked 60, account 90).
 * The page gives each section its <section> and <h2>; Component renders the contents only.
 */
export interface SettingsSection {
  id: string;
  title: string;
  order: number;
  Component: ComponentType;
}

const modules = import.meta.glob<{ section?: SettingsSection }>('./*Section.tsx', { eager: true });

export const settingsSections: SettingsSection[] = Object.values(modules)
  .flatMap((m) => (m.section ? [m.section] : []))
  .sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
