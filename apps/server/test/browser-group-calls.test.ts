/**
 * Group calls in a real browser (Chromium's fake camera, microphone and screen): three people in a
 * mesh, each receiving video from the two others (getStats: frames decoded); the remote mute and
 * camera-off state; a shared screen seen large on the other side; the active speaker and network
 * quality; device selection; the call docked while chatting; one person leaves and the others go
 * on; the call's entry in the timeline on every side; axe scans of the call screens.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { axeSerious, browserSuite, eventually, hasChromium, hidden, signUp, T, visible } from './browser-helpers.js';

/** Test-only: remembers the page's RTCPeerConnections so the test can read getStats(). */
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

/** Video frames decoded on each connected peer connection of the page. */
function framesPerConnection(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    // The test-only global set by recordPeerConnections.
    const pcs = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections;
    const out: number[] = [];
    for (const pc of pcs.filter((p) => p.connectionState === 'connected')) {
      const stats = [...(await pc.getStats()).values()] as { type: string; kind?: string; framesDecoded?: number }[];
      out.push(
        stats
          .filter((s) => s.type === 'inbound-rtp' && s.kind === 'video')
          .reduce((n, s) => n + (s.framesDecoded ?? 0), 0),
      );
    }
    return out;
  });
}

async function videoPlays(page: Page, label: string) {
  const video = page.getByLabel(label, { exact: true });
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
}

async function trpc(page: Page, path: string, input?: unknown) {
  return page.evaluate(
    async ({ path, input }) => {
      const res = await fetch(
        `/trpc/${path}`,
        input === undefined
          ? {}
          : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) },
      );
      return ((await res.json()) as { result: { data: unknown } }).result.data;
    },
    { path, input },
  );
}

describe.skipIf(!hasChromium)('group calls in a browser', () => {
  const suite = browserSuite();

  it('three people see each other, mute, camera off and a shared screen; one leaves, the others go on; history on every side', {
    timeout: 360_000,
  }, async () => {
    const names = ['Alice Archer', 'Bob Baker', 'Carol Cole'] as const;
    const pages: Page[] = [];
    for (const _ of names) {
      const ctx = await suite.context();
      await ctx.addInitScript(recordPeerConnections);
      pages.push(await ctx.newPage());
    }
    const [alice, bob, carol] = pages as [Page, Page, Page];
    const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    await Promise.all(
      names.map((n, i) => signUp(pages[i]!, n, `${n.split(' ')[0]!.toLowerCase()}-${stamp}@example.test`)),
    );
    const ids = await Promise.all(pages.map(async (p) => ((await trpc(p, 'auth.me')) as { id: string }).id));
    const group = (await trpc(alice, 'conversations.createGroup', { title: 'Trio', memberIds: ids.slice(1) })) as {
      id: string;
    };
    await Promise.all(pages.map((p) => p.goto(`/c/${group.id}`)));
    for (const p of pages) await visible(p.getByRole('heading', { name: 'Trio' }));

    // Alice rings the group: both others ring; her screen says it rings once a device has it.
    await alice.getByRole('button', { name: 'Video call with Trio' }).click();
    const aliceCall = alice.getByRole('dialog', { name: 'Call with Trio' });
    await visible(aliceCall.getByRole('status').getByText('Ringing…'));
    for (const p of [bob, carol])
      await visible(p.getByRole('alertdialog', { name: 'Alice Archer' }).getByText('Group video call in Trio…'));
    expect(await axeSerious(bob), 'incoming group call').toEqual([]);
    for (const p of [bob, carol])
      await p.getByRole('alertdialog', { name: 'Alice Archer' }).getByRole('button', { name: 'Accept' }).click();

    // Every page receives video from the two others: two connections, frames decoded on each.
    for (const [i, p] of pages.entries()) {
      for (const [j, other] of names.entries()) if (j !== i) await videoPlays(p, `Video from ${other}`);
      await eventually(async () => {
        const frames = await framesPerConnection(p);
        expect(frames).toHaveLength(2);
        for (const f of frames) expect(f).toBeGreaterThan(0);
      });
    }
    // The active speaker is highlighted (the fake microphones beep), and the network quality shows.
    await visible(alice.locator('.tile.speaking'));
    await visible(aliceCall.getByRole('img', { name: /^Network: (good|fair|poor)$/ }));

    // Mute and camera off on Alice's side: Bob sees her muted, and her avatar instead of video.
    const mute = alice.getByRole('button', { name: 'Mute', exact: true });
    await mute.click();
    expect(await mute.getAttribute('aria-pressed')).toBe('true');
    const camera = alice.getByRole('button', { name: 'Camera off' });
    await camera.click();
    expect(await camera.getAttribute('aria-pressed')).toBe('true');
    const aliceOnBob = bob.getByRole('dialog', { name: 'Call with Trio' }).getByRole('group', { name: 'Alice Archer' });
    await visible(aliceOnBob.getByText('Muted'));
    await visible(aliceOnBob.getByText('Camera off'));
    await hidden(bob.getByLabel('Video from Alice Archer', { exact: true }));
    await camera.click();
    await videoPlays(bob, 'Video from Alice Archer');

    // Bob shares his screen: the others see it large.
    const share = bob.getByRole('button', { name: 'Share screen' });
    await share.click();
    await expect.poll(() => share.getAttribute('aria-pressed'), { timeout: T }).toBe('true');
    for (const p of [alice, carol]) await videoPlays(p, 'Screen from Bob Baker');

    // Devices: microphone, camera and speaker choices.
    await aliceCall.getByRole('button', { name: 'Devices' }).click();
    const devices = alice.getByRole('group', { name: 'Devices' });
    await visible(devices.getByLabel('Microphone'));
    await visible(devices.getByLabel('Camera', { exact: true }));
    expect(await axeSerious(alice), 'group call screen with a shared screen and the devices').toEqual([]);
    await devices.getByRole('button', { name: 'Close' }).click();
    await share.click();
    await hidden(alice.getByLabel('Screen from Bob Baker', { exact: true }));

    // Carol docks the call and chats meanwhile.
    await carol.getByRole('button', { name: 'Minimise call' }).click();
    const composer = carol.getByRole('textbox', { name: 'Message Trio' });
    await composer.fill('Still here, typing while we talk');
    await composer.press('Enter');
    await visible(alice.getByRole('log', { name: 'Messages' }).getByText('Still here, typing while we talk'));
    expect(await axeSerious(carol), 'docked call').toEqual([]);

    // Carol leaves; Alice and Bob go on with each other.
    await carol.getByRole('button', { name: 'Hang up' }).click();
    for (const p of [alice, bob]) await hidden(p.getByRole('group', { name: 'Carol Cole' }));
    for (const p of [alice, bob]) {
      // One connection left (the one with Carol closed), still carrying video.
      let before: number[] = [];
      await eventually(async () => {
        before = await framesPerConnection(p);
        expect(before).toHaveLength(1);
      });
      await eventually(async () => expect((await framesPerConnection(p))[0]).toBeGreaterThan(before[0]!));
    }
    // Carol may join again while it lasts (the chat says a call is on).
    await visible(carol.getByRole('region', { name: 'Call in progress' }).getByRole('button', { name: 'Join call' }));

    await bob.getByRole('button', { name: 'Hang up' }).click();
    await visible(aliceCall.getByRole('status').getByText('Waiting for others…'));
    await alice.getByRole('button', { name: 'Hang up' }).click();

    // The call's entry in the timeline, on every side (Carol's from the call events she still follows).
    for (const p of pages) {
      await visible(p.getByRole('log', { name: 'Messages' }).getByText(/^Group video call · \d+:\d\d · 3 people$/));
    }
    // And after a reload, from the server's history.
    await bob.reload();
    await visible(bob.getByRole('log', { name: 'Messages' }).getByText(/^Group video call · \d+:\d\d · 3 people$/));
  });
});
