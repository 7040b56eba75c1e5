/**
 * Settings in Chromium: the page and its 2FA setup pass axe (no serious or critical issues) and
 * are photographed at phone and desktop widths; a passkey is registered and then signs in
 * without an email, through the DevTools virtual authenticator (WebAuthn needs http://localhost).
 * A profile picture is uploaded (with the refusals of what is not an image) and seen by another user.
 */
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp as signUpByApi, type TestServer } from './helpers.js';
import {
  axeSerious,
  eventually,
  hasChromium,
  launchBrowser,
  newContext,
  screenshots,
  signIn,
  signUp,
  startWebServer,
  T,
  visible,
} from './browser-helpers.js';

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
    for (const h of ['Profile', 'Security', 'Blocked people', 'Account'])
      await visible(page.getByRole('heading', { name: h, level: 2 }));
    expect(await axeSerious(page)).toEqual([]);
    await screenshots(page, 'settings');

    // Two-factor setup shows a QR code drawn in the page.
    await page.getByRole('button', { name: 'Set up' }).click();
    await visible(page.getByRole('img', { name: 'QR code for your authenticator app' }));
    expect(await page.getByRole('img', { name: 'QR code for your authenticator app' }).getAttribute('src')).toMatch(
      /^data:image\/png;base64,/,
    );
    expect(await axeSerious(page)).toEqual([]);
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).scrollIntoViewIfNeeded();
    await screenshots(page, 'settings-2fa');
    await page.getByRole('button', { name: 'Cancel' }).click();

    const cdp = await ctx.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
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

  it('a profile picture: refused when not an image, uploaded with a preview, seen by the other person, removed', {
    timeout: 120_000,
  }, async () => {
    const ann = await signUpByApi(t, 'Ann Picture');
    const ben = await signUpByApi(t, 'Ben Viewer');
    const conv = await ann.client.api.conversations.openDirect.mutate({ userId: ben.user.id });
    const annCtx = await newContext(browser, origin);
    const a = await annCtx.newPage();
    await signIn(a, 'Ann Picture', ann.email);
    await a.goto('/settings#profile');
    await visible(a.getByRole('heading', { name: 'Profile picture' }));
    const file = a.getByTestId('avatar-input');
    const alert = a.locator('.profile-picture').getByRole('alert');

    // Not an image by its type: refused before anything is sent.
    await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await visible(alert.getByText('notes.txt is not an image. Choose a JPEG, PNG, WebP or GIF file.'));
    // Called an image, but its bytes are none: the server refuses it (415), and the page says so.
    await file.setInputFiles({ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.alloc(4000, 7) });
    await visible(alert.getByText('fake.png was refused: its contents are not what its type says.'));
    expect((await ann.client.api.auth.me.query()).avatarUrl).toBeNull();

    // A real PNG, drawn on a canvas.
    const png = Buffer.from(
      await a.evaluate(() => {
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = 256;
        const g = canvas.getContext('2d')!;
        g.fillStyle = '#e63';
        g.fillRect(0, 0, 256, 256);
        g.fillStyle = '#fff';
        g.fillRect(64, 64, 128, 128);
        return canvas.toDataURL('image/png').split(',')[1]!;
      }),
      'base64',
    );
    await file.setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
    await visible(a.getByRole('status').getByText('Picture saved.'));
    const avatarUrl = (await ann.client.api.auth.me.query()).avatarUrl;
    expect(avatarUrl).toMatch(/^\/files\/[0-9a-f-]+\/thumbnail$/);
    // Where the initials were: the account bar shows the picture, loaded.
    const mine = a.locator('.account-bar img.avatar-picture');
    await visible(mine);
    expect(await mine.getAttribute('src')).toBe(avatarUrl);
    await eventually(async () =>
      expect(await mine.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0),
    );
    expect(await axeSerious(a)).toEqual([]);
    await screenshots(a, 'settings-avatar');

    // Ben sees it in his list of chats and in the chat's header.
    const benCtx = await newContext(browser, origin);
    const b = await benCtx.newPage();
    await signIn(b, 'Ben Viewer', ben.email);
    // In his list of chats (a message from Ann puts the chat there), then in the chat's header.
    await ann.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: crypto.randomUUID(),
      body: 'new picture!',
    });
    const loaded = async (img: Locator) => {
      await visible(img);
      expect(await img.first().getAttribute('src')).toBe(avatarUrl);
      await eventually(async () =>
        expect(await img.first().evaluate((el: HTMLImageElement) => el.naturalWidth)).toBeGreaterThan(0),
      );
    };
    await loaded(b.locator(`[data-conversation-id="${conv.id}"] img.avatar-picture`));
    await b.goto(`/c/${conv.id}`);
    await loaded(b.locator('.chat-header img.avatar-picture'));

    // Removed: the initials are back, for Ann at once and for Ben on his next load.
    await a.getByRole('button', { name: 'Remove picture' }).click();
    await visible(a.getByRole('status').getByText('Picture removed.'));
    expect(await a.locator('.account-bar img.avatar-picture').count()).toBe(0);
    await b.reload();
    await visible(b.locator('.chat-header .avatar'));
    expect(await b.locator('.chat-header img.avatar-picture').count()).toBe(0);
    expect((await ann.client.api.auth.me.query()).avatarUrl).toBeNull();
    await annCtx.close();
    await benCtx.close();
  });

  it('speaks German throughout the account pages', { timeout: 120_000 }, async () => {
    const dora = await signUpByApi(t, 'Dora Deutsch');
    const ctx = await newContext(browser, origin);
    const page = await ctx.newPage();
    await signIn(page, 'Dora Deutsch', dora.email);
    await page.evaluate(() => localStorage.setItem('parley.language', 'de'));
    await page.goto('/settings');
    for (const h of ['Profil', 'Sicherheit', 'Blockierte Personen', 'Konto'])
      await visible(page.getByRole('heading', { name: h, level: 2 }));
    for (const h of [
      'Profilbild',
      'Passwort',
      'Zwei-Faktor-Anmeldung',
      'Passkeys',
      'Geräte und Sitzungen',
      'Konto löschen',
    ]) {
      await visible(page.getByRole('heading', { name: h, level: 3 }));
    }
    await visible(page.getByLabel('Anzeigename'));
    await visible(page.getByText('Sichtbar für alle, mit denen du schreibst. Bis zu 500 Zeichen.'));
    await page.getByRole('button', { name: 'Einrichten' }).click();
    await visible(page.getByRole('img', { name: 'QR-Code für deine Authenticator-App' }));
    // None of the English of these pages is left.
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (the rendered text), not the DOM property
    const text = await page.locator('main').innerText();
    for (const english of [
      'Display name',
      'Current password',
      'Two-factor',
      'Add a passkey',
      'Delete account',
      'Signed in as',
      'Profile picture',
      'Scan this',
    ]) {
      expect(text).not.toContain(english);
    }
    expect(await axeSerious(page)).toEqual([]);
    await page.getByRole('button', { name: 'Abbrechen' }).click();
    await screenshots(page, 'settings-de');

    // The pages a mailed link opens.
    await page.goto('/verify-email');
    await visible(page.getByRole('heading', { name: 'E-Mail-Adresse bestätigen' }));
    await visible(page.getByText('Dieser Link ist unvollständig. Öffne den Link aus der Mail noch einmal.'));
    await ctx.close();
  });
});
