/**
 * Settings in Chromium: the page and its 2FA setup pass axe (no serious or critical issues) and
 * are photographed at phone and desktop widths; a passkey is registered and then signs in
 * without an email, through the DevTools virtual authenticator (WebAuthn needs http://localhost).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from './helpers.js';
import { axeSerious, hasChromium, launchBrowser, newContext, screenshots, signUp, startWebServer, T, visible } from './browser-helpers.js';

describe.skipIf(!hasChromium)('settings and passkeys in Chromium', () => {
  let t: TestServer;
  let origin: string;
  let browser: Browser;
  beforeAll(async () => {
    const web = await startWebServer();
    t = web.t;
    // A passkey's relying party is a host name, never an IP address: the page runs on localhost.
    origin = web.origin.replace('127.0.0.1', 'localhost');
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('settings pass axe; a passkey registers and then signs in without an email', { timeout: 120_000 }, async () => {
    const ctx = await newContext(browser, origin);
    const page = await ctx.newPage();
    await signUp(page, 'Pia', `pia-${Date.now()}@example.test`);
    await page.getByRole('link', { name: 'Settings' }).click();
    await visible(page.getByRole('heading', { name: 'Settings', level: 1 }));
    for (const h of ['Profile', 'Security', 'Blocked people', 'Account']) await visible(page.getByRole('heading', { name: h, level: 2 }));
    expect(await axeSerious(page)).toEqual([]);
    await screenshots(page, 'settings');

    // Two-factor setup shows a QR code drawn in the page.
    await page.getByRole('button', { name: 'Set up' }).click();
    await visible(page.getByRole('img', { name: 'QR code for your authenticator app' }));
    expect(await page.getByRole('img', { name: 'QR code for your authenticator app' }).getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(await axeSerious(page)).toEqual([]);
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).scrollIntoViewIfNeeded();
    await screenshots(page, 'settings-2fa');
    await page.getByRole('button', { name: 'Cancel' }).click();

    const cdp = await ctx.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    await page.getByLabel('Name for a new passkey').fill('Test laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await visible(page.getByText('Passkey added.'));
    await visible(page.getByRole('list', { name: 'Your passkeys' }).getByText('Test laptop'));

    // Sign out (it asks), then in again with the passkey alone.
    await page.getByRole('button', { name: 'Sign out', exact: true }).first().click();
    await page.getByRole('button', { name: 'Yes, sign out' }).click();
    await visible(page.getByRole('heading', { name: 'Welcome back' }));
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    // Signed in again, where we were (the settings page), as Pia.
    await visible(page.getByTestId('current-user').getByText('Pia'), T);
    expect(await page.getByRole('alert').allTextContents()).toEqual([]);
    await ctx.close();
  });
});
