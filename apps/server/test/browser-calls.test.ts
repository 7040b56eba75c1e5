/**
 * Calls in a real browser: two people, Chromium's fake camera and microphone, a video call that
 * reaches the connected state and shows the other person's video, over the direct path and
 * forced through a real coturn (proven by getStats and coturn's own log), surviving the relay's
 * loss. Rings on every device of the callee and stops when one answers; says so when a call is
 * declined, missed or busy, and when the other end vanishes.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoturn, type RunningCoturn } from '../../../packages/api/test/turn-helpers.js';
import type { TestServer } from './helpers.js';
import {
  axeSerious,
  eventually,
  hidden,
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
  return video.evaluate((el: HTMLVideoElement) => ({
    readyState: el.readyState,
    width: el.videoWidth,
    height: el.videoHeight,
  }));
}

export async function callConnected(page: Page, name: string) {
  await visible(page.locator(`[role="dialog"][aria-label="Call with ${name}"] [data-connection="connected"]`));
}

/** Two signed-up people with a direct chat open on both sides. */
export async function twoPeopleInAChat(
  browser: Browser,
  origin: string,
  contexts: BrowserContext[],
  query = '',
  initScript?: () => void,
) {
  const pages: Page[] = [];
  for (let i = 0; i < 2; i++) {
    const ctx = await newContext(browser, origin);
    if (initScript) await ctx.addInitScript(initScript);
    contexts.push(ctx);
    pages.push(await ctx.newPage());
  }
  const [alice, bob] = pages as [Page, Page];
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const emails = { alice: `alice-${stamp}@example.test`, bob: `bob-${stamp}@example.test` };
  await Promise.all([signUp(alice, 'Alice Archer', emails.alice), signUp(bob, 'Bob Baker', emails.bob)]);
  if (query) await Promise.all([alice.goto(`/${query}`), bob.goto(`/${query}`)]);
  await alice.getByLabel('Search people').fill('Bob');
  await alice.getByRole('button', { name: 'Message Bob Baker' }).click();
  const composer = alice.getByRole('textbox', { name: 'Message Bob Baker' });
  await composer.fill('Can I call you?');
  await composer.press('Enter');
  await bob
    .getByRole('navigation', { name: 'Conversations' })
    .getByRole('link', { name: /^Alice Archer/ })
    .click();
  await visible(bob.getByRole('log', { name: 'Messages' }).getByText('Can I call you?'));
  return { alice, bob, emails };
}

/** One Chromium for the whole file; each test has its own contexts. */
let browserLaunch: Promise<Browser> | null = null;
const sharedBrowser = () => (browserLaunch ??= launchBrowser());
afterAll(async () => {
  await (await browserLaunch)?.close();
});

describe.skipIf(!hasChromium)('calls in a browser', () => {
  let t: TestServer;
  let origin: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    ({ t, origin } = await startWebServer());
    browser = await sharedBrowser();
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
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
    await visible(alice.getByRole('timer', { name: 'Call duration' }).getByText(/^0:0[1-9]$/));

    // Mute and camera off are toggles.
    const mute = alice.getByRole('button', { name: 'Mute', exact: true });
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
    expect(await axeSerious(alice), 'call ended').toEqual([]);
    await screenshots(alice, 'call-ended');
    await alice.getByRole('dialog', { name: 'Call with Bob Baker' }).waitFor({ state: 'detached', timeout: T });
  });
});

/**
 * Test-only instrumentation injected before the app loads: remembers every RTCPeerConnection
 * the page creates, so that the test can read getStats() without a hook in the app.
 */
function recordPeerConnections() {
  const Native = window.RTCPeerConnection;
  const seen: RTCPeerConnection[] = [];
  // A test-only global the page's Window type does not declare.
  (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections = seen;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      seen.push(this);
    }
  };
}

interface SelectedPath {
  policy: string | undefined;
  local: string | undefined;
  remote: string | undefined;
  localAddress: string | undefined;
  relayProtocol: string | undefined;
  bytesReceived: number;
  /** Video frames decoded so far, all inbound streams together. */
  framesDecoded: number;
}

/** The signed-in user's id, from the page's own session. */
async function myUserId(page: Page): Promise<string> {
  const id = await page.evaluate(async () => {
    const res = await fetch('/trpc/auth.me');
    return ((await res.json()) as { result?: { data?: { id?: string } } }).result?.data?.id;
  });
  if (!id) throw new Error('not signed in');
  return id;
}

/** The selected candidate pair of the page's connected peer connection, from getStats(). */
async function selectedPath(page: Page): Promise<SelectedPath | null> {
  return page.evaluate(async () => {
    // The test-only global set by recordPeerConnections (absent if it was not injected).
    const pcs = (window as unknown as { __peerConnections?: RTCPeerConnection[] }).__peerConnections ?? [];
    const pc = pcs.find((p) => p.connectionState === 'connected');
    if (!pc) return null;
    const stats = await pc.getStats();
    const all = [...stats.values()] as Record<string, unknown>[];
    const transport = all.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
    const pair = transport ? stats.get(transport.selectedCandidatePairId as string) : undefined;
    if (!pair) return null;
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    return {
      policy: pc.getConfiguration().iceTransportPolicy,
      local: local?.candidateType,
      remote: remote?.candidateType,
      localAddress: local?.address,
      relayProtocol: local?.relayProtocol,
      bytesReceived: Number(pair.bytesReceived ?? 0),
      framesDecoded: all
        .filter((s) => s.type === 'inbound-rtp' && s.kind === 'video')
        .reduce((n, s) => n + Number(s.framesDecoded ?? 0), 0),
    };
  });
}

describe.skipIf(!hasChromium)('calls in a browser through a real coturn', () => {
  const secret = randomBytes(24).toString('base64url');
  let coturn: RunningCoturn;
  let t: TestServer;
  let origin: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // --verbose: coturn logs each allocation's usage when it closes.
    coturn = await startCoturn({ secret, extraArgs: ['--verbose'] });
    ({ t, origin } = await startWebServer({ env: { TURN_SECRET: secret, TURN_URLS: `${coturn.url}?transport=udp` } }));
    browser = await sharedBrowser();
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    await t?.close();
    await coturn?.stop();
  });

  it('a video call forced through TURN (relay only) connects, shows remote video, coturn relays it, and it survives losing the relay', {
    timeout: 120_000,
  }, async () => {
    const { alice, bob } = await twoPeopleInAChat(browser, origin, contexts, '?relay=1', recordPeerConnections);
    const [aliceId, bobId] = await Promise.all([alice, bob].map(myUserId));
    await alice.getByRole('button', { name: 'Video call with Bob Baker' }).click();
    const ringing = bob.getByRole('alertdialog', { name: 'Alice Archer' });
    await visible(ringing);
    // The incoming-call screen takes the focus on Accept: Enter answers.
    await expect.poll(() => bob.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Accept');
    await bob.keyboard.press('Enter');

    await callConnected(alice, 'Bob Baker');
    await callConnected(bob, 'Alice Archer');
    expect((await remoteVideoPlays(alice, 'Bob Baker')).width).toBeGreaterThan(0);
    expect((await remoteVideoPlays(bob, 'Alice Archer')).width).toBeGreaterThan(0);

    // Both ends use relay candidates on both sides of the selected pair: the only path is coturn's.
    for (const page of [alice, bob]) {
      const path = await selectedPath(page);
      expect(path).toMatchObject({ policy: 'relay', local: 'relay', remote: 'relay', localAddress: '127.0.0.1' });
      expect(path!.bytesReceived).toBeGreaterThan(0);
    }
    // coturn's side: each person allocated a relay with the TURN credentials the server made from
    // the shared secret (username "<expiry>:<user id>") and bound a channel to the other's relay.
    // (Its usage totals are logged only when an allocation is reaped, which can take long.)
    await eventually(async () => {
      for (const id of [aliceId, bobId]) {
        const user = `user <\\d+:${id}>: incoming packet`;
        expect(coturn.log()).toMatch(new RegExp(`${user} ALLOCATE processed, success`));
        expect(coturn.log()).toMatch(new RegExp(`${user} CHANNEL_BIND processed, success`));
      }
    }, 10_000);

    // The relay goes away mid-call (as when a network changes): both ends see the path fail, the
    // caller restarts ICE with fresh credentials, and the call picks up through the new coturn.
    const port = coturn.port;
    await coturn.stop();
    const aliceCall = alice.getByRole('dialog', { name: 'Call with Bob Baker' });
    await visible(aliceCall.getByRole('status').getByText('Reconnecting…'));
    coturn = await startCoturn({ secret, port, extraArgs: ['--verbose'] });
    await callConnected(alice, 'Bob Baker');
    await callConnected(bob, 'Alice Archer');
    await visible(aliceCall.getByRole('timer', { name: 'Call duration' }).getByText(/^\d+:\d\d$/));
    for (const page of [alice, bob]) {
      const before = await selectedPath(page);
      expect(before).toMatchObject({ local: 'relay', remote: 'relay' });
      await eventually(async () =>
        expect((await selectedPath(page))!.framesDecoded).toBeGreaterThan(before!.framesDecoded),
      );
    }
    await eventually(async () => {
      for (const id of [aliceId, bobId])
        expect(coturn.log()).toMatch(new RegExp(`user <\\d+:${id}>: incoming packet CHANNEL_BIND processed, success`));
    }, 10_000);

    await alice.getByRole('button', { name: 'Hang up' }).click();
    await visible(bob.getByText('Call ended.'));
  });
});

describe.skipIf(!hasChromium)('call outcomes in a browser', () => {
  const RING_MS = 3_000;
  let t: TestServer;
  let origin: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // A short ring timeout, so that a call nobody answers ends as missed within the test.
    ({ t, origin } = await startWebServer({ env: { CALL_RING_TIMEOUT_MS: String(RING_MS) } }));
    browser = await sharedBrowser();
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    await t?.close();
  });

  it('rings on every device and stops when one answers; busy; missed on both sides; a vanished peer ends the call', {
    timeout: 120_000,
  }, async () => {
    // A call without a media path for 4 s ends as failed (30 s in the app).
    const { alice, bob, emails } = await twoPeopleInAChat(browser, origin, contexts, '?lostAfterMs=4000');
    const newPage = async () => {
      const ctx = await newContext(browser, origin);
      contexts.push(ctx);
      return ctx.newPage();
    };
    // Bob on a second device.
    const bobPhone = await newPage();
    await signIn(bobPhone, 'Bob Baker', emails.bob);

    // Alice calls: both of Bob's devices ring; Bob answers on one, the other stops ringing.
    await alice.getByRole('button', { name: 'Video call with Bob Baker' }).click();
    const ringingOn = (page: Page, caller: string) => page.getByRole('alertdialog', { name: caller });
    await visible(ringingOn(bob, 'Alice Archer'));
    await visible(ringingOn(bobPhone, 'Alice Archer'));
    await ringingOn(bob, 'Alice Archer').getByRole('button', { name: 'Accept' }).click();
    await hidden(ringingOn(bobPhone, 'Alice Archer'));
    await visible(bobPhone.getByText('Answered on another device.'));
    await callConnected(alice, 'Bob Baker');
    await callConnected(bob, 'Alice Archer');
    expect(await bobPhone.getByRole('dialog', { name: 'Call with Alice Archer' }).count()).toBe(0);

    // Carol calls Bob, who is in a call: she is told he is busy, and Bob is not disturbed.
    const carol = await newPage();
    const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    await signUp(carol, 'Carol Cole', `carol-${stamp}@example.test`);
    await carol.getByLabel('Search people').fill('Bob');
    await carol.getByRole('button', { name: 'Message Bob Baker' }).click();
    await carol.getByRole('button', { name: 'Voice call with Bob Baker' }).click();
    await visible(carol.getByText('Bob Baker is busy in another call.'));
    expect(await axeSerious(carol), 'busy notice').toEqual([]);
    await screenshots(carol, 'call-busy');
    for (const page of [bob, bobPhone]) expect(await ringingOn(page, 'Carol Cole').count()).toBe(0);

    await alice.getByRole('button', { name: 'Hang up' }).click();
    await visible(bob.getByText('Call ended.'));
    await hidden(alice.getByRole('dialog', { name: 'Call with Bob Baker' }));

    // Carol calls again; nobody answers: the call ends as missed, and everyone is told.
    await carol.getByRole('button', { name: 'Voice call with Bob Baker' }).click();
    await visible(ringingOn(bob, 'Carol Cole'));
    await visible(ringingOn(bobPhone, 'Carol Cole'));
    await visible(carol.getByText("Bob Baker didn't answer."), RING_MS + T);
    for (const page of [bob, bobPhone]) {
      await hidden(ringingOn(page, 'Carol Cole'));
      await visible(page.getByText('Missed call from Carol Cole.'));
    }
    expect(await carol.getByRole('dialog', { name: 'Call with Bob Baker' }).count()).toBe(0);
    await screenshots(carol, 'call-missed');

    // Bob closes his page mid-call: Alice's call ends as failed instead of hanging on, and the
    // server's call with it, so that Bob (on his phone) can be called again.
    await alice.getByRole('button', { name: 'Voice call with Bob Baker' }).click();
    await ringingOn(bob, 'Alice Archer').getByRole('button', { name: 'Accept' }).click();
    await callConnected(alice, 'Bob Baker');
    await bob.close();
    await visible(alice.getByText('The call failed. Check your connection and try again.'));
    await carol.getByRole('button', { name: 'Voice call with Bob Baker' }).click();
    await visible(ringingOn(bobPhone, 'Carol Cole'));
    await ringingOn(bobPhone, 'Carol Cole').getByRole('button', { name: 'Decline' }).click();
    await visible(carol.getByText('Bob Baker declined the call.'));
  });
});
