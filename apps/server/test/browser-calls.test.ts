/**
 * Calls in a real browser: two people, Chromium's fake camera and microphone, a video call that
 * reaches the connected state and shows the other person's video. Rings, answers, hangs up,
 * and says so when a call is declined.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from './helpers.js';
import { axeSerious, hasChromium, launchBrowser, newContext, screenshots, signUp, startWebServer, T, visible } from './browser-helpers.js';

/** Waits until the page's remote <video> plays real frames. */
export async function remoteVideoPlays(page: Page, name: string) {
  const video = page.getByLabel(`Video from ${name}`);
  await visible(video);
  await video.evaluate(
    (el: HTMLVideoElement) =>
      new Promise<void>((resolve) => {
        const check = () => (el.readyState >= 2 && el.videoWidth > 0 ? resolve() : setTimeout(check, 100));
        check();
      }),
    undefined,
    { timeout: T },
  );
  return video.evaluate((el: HTMLVideoElement) => ({ readyState: el.readyState, width: el.videoWidth, height: el.videoHeight }));
}

export async function callConnected(page: Page, name: string) {
  await visible(page.locator(`[role="dialog"][aria-label="Call with ${name}"] [data-connection="connected"]`));
}

/** Two signed-up people with a direct chat open on both sides. */
export async function twoPeopleInAChat(browser: Browser, origin: string, contexts: BrowserContext[], query = '') {
  const pages: Page[] = [];
  for (let i = 0; i < 2; i++) {
    const ctx = await newContext(browser, origin);
    contexts.push(ctx);
    pages.push(await ctx.newPage());
  }
  const [alice, bob] = pages as [Page, Page];
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  await Promise.all([signUp(alice, 'Alice Archer', `alice-${stamp}@example.test`), signUp(bob, 'Bob Baker', `bob-${stamp}@example.test`)]);
  if (query) await Promise.all([alice.goto(`/${query}`), bob.goto(`/${query}`)]);
  await alice.getByLabel('Search people').fill('Bob');
  await alice.getByRole('button', { name: 'Message Bob Baker' }).click();
  const composer = alice.getByRole('textbox', { name: 'Message Bob Baker' });
  await composer.fill('Can I call you?');
  await composer.press('Enter');
  await bob.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: /^Alice Archer/ }).click();
  await visible(bob.getByRole('log', { name: 'Messages' }).getByText('Can I call you?'));
  return { alice, bob };
}

describe.skipIf(!hasChromium)('calls in a browser', () => {
  let t: TestServer;
  let origin: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    ({ t, origin } = await startWebServer());
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    await browser?.close();
    await t?.close();
  });

  it('a video call connects over the direct path and shows remote video both ways', { timeout: 180_000 }, async () => {
    const { alice, bob } = await twoPeopleInAChat(browser, origin, contexts);

    // A declined call says so.
    await alice.getByRole('button', { name: 'Voice call with Bob Baker' }).click();
    const ringing = bob.getByRole('alertdialog', { name: 'Alice Archer' });
    await visible(ringing);
    await visible(ringing.getByText('Incoming voice call…'));
    await ringing.getByRole('button', { name: 'Decline' }).click();
    await visible(alice.getByText('Bob Baker declined the call.'));

    // A video call.
    await alice.getByRole('button', { name: 'Video call with Bob Baker' }).click();
    await visible(alice.getByRole('dialog', { name: 'Call with Bob Baker' }));
    await visible(ringing.getByText('Incoming video call…'));
    expect(await axeSerious(bob), 'incoming call screen').toEqual([]);
    await screenshots(bob, 'call-incoming');
    await ringing.getByRole('button', { name: 'Accept' }).click();

    await callConnected(alice, 'Bob Baker');
    await callConnected(bob, 'Alice Archer');
    const seenByAlice = await remoteVideoPlays(alice, 'Bob Baker');
    const seenByBob = await remoteVideoPlays(bob, 'Alice Archer');
    expect(seenByAlice.width).toBeGreaterThan(0);
    expect(seenByBob.width).toBeGreaterThan(0);
    // The duration runs.
    await visible(alice.getByRole('status').getByText(/^0:0[1-9]$/));

    // Mute and camera off are toggles.
    const mute = alice.getByRole('button', { name: 'Mute' });
    await mute.click();
    expect(await mute.getAttribute('aria-pressed')).toBe('true');
    const camera = alice.getByRole('button', { name: 'Camera off' });
    await camera.click();
    expect(await camera.getAttribute('aria-pressed')).toBe('true');
    await camera.click();
    expect(await camera.getAttribute('aria-pressed')).toBe('false');

    expect(await axeSerious(alice), 'call view').toEqual([]);
    await screenshots(alice, 'call');

    await bob.getByRole('button', { name: 'Hang up' }).click();
    await visible(alice.getByText('Call ended.'));
    await alice.getByRole('dialog', { name: 'Call with Bob Baker' }).waitFor({ state: 'detached', timeout: T });
  });
});
