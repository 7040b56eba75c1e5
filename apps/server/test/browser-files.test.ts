/**
 * Files in a real browser, two people: an image pasted and a PDF attached by the button arrive
 * as one message; the other side sees the thumbnail and the file card and opens the image in the
 * lightbox (Escape closes it); a voice message recorded with Chromium's fake microphone plays on
 * the other side. axe scans with the lightbox open; screenshots at 375 and 1280 px.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { signUp as signUpByApi } from './helpers.js';
import { axeSerious, browserSuite, eventually, hasChromium, screenshots, signIn, visible } from './browser-helpers.js';

describe.skipIf(!hasChromium)('files in a browser', () => {
  const suite = browserSuite();

  async function open(name: string, email: string, conversationId: string): Promise<Page> {
    const ctx = await suite.context();
    const page = await ctx.newPage();
    await signIn(page, name, email);
    await page.goto(`/c/${conversationId}`);
    return page;
  }
  const log = (page: Page) => page.getByRole('log', { name: 'Messages' });

  it('paste an image and attach a PDF; the other side sees the thumbnail and the lightbox; a voice message plays', {
    timeout: 120_000,
  }, async () => {
    const alice = await signUpByApi(suite.t, 'Alice Files');
    const bob = await signUpByApi(suite.t, 'Bob Files');
    const conv = await alice.client.api.conversations.openDirect.mutate({ userId: bob.user.id });
    const [a, b] = await Promise.all([
      open('Alice Files', alice.email, conv.id),
      open('Bob Files', bob.email, conv.id),
    ]);
    const composer = a.locator('.composer textarea');
    await visible(composer);

    // A screenshot pasted into the composer (a PNG drawn on a canvas, as the clipboard gives it).
    await composer.evaluate(async (el) => {
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 480;
      const g = canvas.getContext('2d')!;
      g.fillStyle = '#2a7';
      g.fillRect(0, 0, 640, 480);
      const blob = await new Promise<Blob>((r) => canvas.toBlob((x) => r(x!), 'image/png'));
      const data = new DataTransfer();
      data.items.add(new File([blob], 'screenshot.png', { type: 'image/png' }));
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    });
    await a.locator('[data-testid=attach-input]').setInputFiles({
      name: 'minutes.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(20_000, 7)]),
    });
    const tray = a.getByRole('list', { name: 'Files to send' });
    await eventually(async () => expect(await tray.locator('.upload-item.done').count()).toBe(2));
    await composer.press('Enter');
    await eventually(async () => expect(await tray.count()).toBe(0));

    // Bob: the thumbnail (served by the server, not a local preview) and the file card.
    const thumb = log(b).getByRole('button', { name: 'Open image screenshot.png' });
    await visible(thumb);
    await eventually(async () =>
      expect(await thumb.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(320),
    );
    expect(await thumb.locator('img').getAttribute('src')).toMatch(/^\/files\/[0-9a-f-]{36}\/thumbnail$/);
    const card = log(b).getByRole('link', { name: /minutes\.pdf/ });
    await visible(card);
    expect(await card.textContent()).toContain('application/pdf');

    await thumb.click();
    const lightbox = b.getByRole('dialog', { name: /screenshot\.png/ });
    await visible(lightbox);
    await eventually(async () =>
      expect(await lightbox.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(640),
    );
    expect(await axeSerious(b)).toEqual([]);
    await screenshots(b, 'files-lightbox');
    await b.keyboard.press('Escape');
    await eventually(async () => expect(await lightbox.count()).toBe(0));
    expect(await thumb.evaluate((el) => el === document.activeElement)).toBe(true);

    // A voice message from Chromium's fake microphone (a beep).
    await a.getByRole('button', { name: 'Record a voice message' }).click();
    await visible(a.getByRole('group', { name: 'Recording a voice message' }));
    await a.waitForTimeout(1500); // the recording's length, not a wait for the app
    await a.getByRole('button', { name: 'Send voice message' }).click();
    const audio = log(b).locator('audio');
    await visible(audio);
    expect(await audio.getAttribute('aria-label')).toMatch(/^Audio: voice-message-.*\.webm$/);
    await audio.click(); // a user gesture, so the page may play sound
    await audio.evaluate((el: HTMLAudioElement) => el.play());
    await eventually(async () =>
      expect(await audio.evaluate((el: HTMLAudioElement) => el.currentTime)).toBeGreaterThan(0.2),
    );
    expect(await audio.evaluate((el: HTMLAudioElement) => el.error)).toBeNull();
    // The conversation list says what the last message was, though it has no text.
    await eventually(async () =>
      expect(await b.locator(`[data-conversation-id="${conv.id}"]`).textContent()).toContain('Voice message'),
    );
    expect(await axeSerious(b)).toEqual([]);
    await screenshots(b, 'files-chat');
  });
});
