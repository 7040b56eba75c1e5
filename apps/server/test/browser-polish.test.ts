/**
 * The web app's polish, in a real browser: the bugs new users hit (each step fails on the code
 * before its fix) and the comforts (status ticks, theme, shortcuts, languages), with axe
 * scans of every screen in English and German, light and dark, and screenshots at 375/1280 px.
 * The other people are API clients; one browser for the whole file.
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { signUp as signUpByApi } from './helpers.js';
import {
  axeSerious,
  browserSuite,
  eventually,
  hasChromium,
  hidden,
  screenshots,
  signIn,
  visible,
} from './browser-helpers.js';

type Person = Awaited<ReturnType<typeof signUpByApi>>;

/**
 * Runs in the page before the app: typing frames of the WebSocket can be held back and delivered
 * later (after the message they preceded).
 */
function instrument() {
  const w = window as unknown as Record<string, unknown>;
  const Native = window.WebSocket;
  const held: [WebSocket, string][] = [];
  const typing = { hold: false, releasing: false, held, release() {} };
  typing.release = () => {
    typing.releasing = true;
    for (const [ws, data] of held.splice(0)) ws.dispatchEvent(new MessageEvent('message', { data }));
    typing.releasing = false;
  };
  w.__typing = typing;
  // A subclass: the app's socket is this one; its first listener can stop a frame.
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', (e) => {
        if (typing.releasing || !typing.hold || typeof e.data !== 'string' || !e.data.includes('"type":"typing"'))
          return;
        e.stopImmediatePropagation();
        held.push([this, e.data]);
      });
    }
  };
}

const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\uFFFD/;
const frames = (page: Page) =>
  page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const send = (p: Person, conversationId: string, body: string) =>
  p.client.api.messages.send.mutate({ conversationId, clientId: randomUUID(), body });

// The four tests share the server and the browser but nothing else (own people, own context):
// they run at once, so one's waits (page loads, sockets, animation frames) overlap another's work.
describe.skipIf(!hasChromium)('web app polish in a browser', { concurrent: true }, () => {
  const suite = browserSuite();

  async function page(locale = 'en-US'): Promise<Page> {
    const ctx = await suite.context({ locale });
    await ctx.addInitScript(instrument);
    return ctx.newPage();
  }

  it('the bugs: empty chats, receipts after reload, ghost typing, graphemes, unread divider, paste, focus', {
    timeout: 150_000,
  }, async () => {
    const [alice, bob, carol] = [
      await signUpByApi(suite.t, 'Alice Archer'),
      await signUpByApi(suite.t, 'Bob Baker'),
      await signUpByApi(suite.t, 'Carol Cole'),
    ];
    const p = await page();
    await signIn(p, 'Alice Archer', alice.email, alice.password);
    const list = p.getByRole('navigation', { name: 'Conversations' });
    const search = p.getByLabel('Search people');

    // Clicking a person in search opens the chat, but the list gets no empty chat until a message.
    await search.fill(bob.email);
    await p.getByRole('button', { name: 'Message Bob Baker' }).click();
    const composer = p.getByRole('textbox', { name: 'Message Bob Baker' });
    await visible(composer);
    await visible(p.getByText('No conversations yet.'));
    const direct = (await alice.client.api.conversations.list.query({})).items[0]!;
    await composer.fill('Hello Bob');
    await composer.press('Enter');
    await visible(list.getByRole('link', { name: /^Bob Baker/ }));

    // "Seen" stays "Seen" after a reload: the others' read positions come with the conversation.
    const log = p.getByRole('log', { name: 'Messages' });
    await visible(log.getByText('Sent', { exact: true }));
    await bob.client.api.messages.markRead.mutate({ conversationId: direct.id, seq: 1 });
    await visible(log.getByText('Seen', { exact: true }));
    await p.reload();
    await visible(log.getByText('Hello Bob'));
    await visible(log.getByText('Seen', { exact: true }));
    expect(await log.getByText('Sent', { exact: true }).count()).toBe(0);
    // The tick of the message says so too.
    await visible(log.getByRole('img', { name: 'Seen' }));

    // Ghost typing: a message ends its sender's typing at once…
    await bob.client.api.messages.typing.mutate({ conversationId: direct.id });
    await visible(p.getByText('Bob Baker is typing…'));
    await send(bob, direct.id, 'Typed and sent');
    await visible(log.getByText('Typed and sent'));
    expect(await p.getByText('Bob Baker is typing…').count()).toBe(0);
    // …and a typing event that arrives after the message it preceded is ignored.
    await p.evaluate(() => ((window as unknown as { __typing: { hold: boolean } }).__typing.hold = true));
    await bob.client.api.messages.typing.mutate({ conversationId: direct.id });
    await eventually(async () =>
      expect(
        await p.evaluate(() => (window as unknown as { __typing: { held: unknown[] } }).__typing.held.length),
      ).toBe(1),
    );
    await send(bob, direct.id, 'Arrived before its typing');
    await visible(log.getByText('Arrived before its typing'));
    await p.evaluate(() => (window as unknown as { __typing: { hold: boolean; release(): void } }).__typing.release());
    await frames(p);
    expect(await p.getByText('Bob Baker is typing…').count()).toBe(0);
    expect(await p.locator('.typing-line').textContent()).toBe('');
    // A later typing still shows (the rule drops only the stale one).
    await p.evaluate(() => ((window as unknown as { __typing: { hold: boolean } }).__typing.hold = false));
    await bob.client.api.messages.typing.mutate({ conversationId: direct.id });
    await visible(p.getByText('Bob Baker is typing…'));

    // Text is cut by grapheme: initials and previews never hold half an emoji.
    const trip = await carol.client.api.conversations.createGroup.mutate({
      title: 'Coast trip 🏖️',
      memberIds: [alice.user.id],
    });
    await send(carol, trip.id, `${'x'.repeat(119)}👍🏽👍🏽👍🏽`);
    const tripRow = list.getByRole('link', { name: /^Coast trip/ });
    await visible(tripRow);
    expect(await tripRow.locator('.avatar').first().textContent()).toBe('CT');
    const preview = (await tripRow.locator('.conv-preview').textContent())!;
    expect(preview).toMatch(/…$/);
    expect(lone.test(preview), preview).toBe(false);

    // Many unread: a divider says how many, and the chat opens at the first of them.
    // Ten at a time (one HTTP batch each); their order among themselves does not matter here.
    for (let i = 1; i <= 60; i += 10)
      await Promise.all(Array.from({ length: 10 }, (_, k) => send(carol, trip.id, `Unread ${i + k}`)));
    await visible(list.getByRole('link', { name: /^Coast trip.*61 unread/ }));
    await tripRow.click();
    const divider = log.getByRole('separator').filter({ hasText: '61 unread messages' });
    await visible(divider);
    await visible(log.getByText('Unread 1', { exact: true }));
    await eventually(async () => {
      const [d, l] = await Promise.all([divider.boundingBox(), log.boundingBox()]);
      // Near the top of the log, not scrolled past to the bottom.
      expect(d!.y - l!.y).toBeLessThan(60);
      expect(d!.y).toBeGreaterThanOrEqual(l!.y - 1);
    });
    expect(await axeSerious(p), 'unread divider').toEqual([]);
    await screenshots(p, 'chat-unread-divider');

    // Pasting more than 4,000 characters is not cut silently: it says so and offers what fits.
    const tripComposer = p.getByRole('textbox', { name: 'Message Coast trip 🏖️' });
    await tripComposer.fill('Start: ');
    await tripComposer.evaluate((el, text) => {
      const data = new DataTransfer();
      data.setData('text/plain', text);
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, 'y'.repeat(5000));
    const notice = p
      .getByRole('alert')
      .filter({ hasText: 'That text has 5,007 characters; a message can hold 4,000.' });
    await visible(notice);
    expect(await tripComposer.inputValue()).toBe('Start: ');
    expect(await axeSerious(p), 'paste notice').toEqual([]);
    await notice.getByRole('button', { name: 'Paste the first 4,000' }).click();
    expect((await tripComposer.inputValue()).length).toBe(4000);
    await hidden(notice);

    // Escape closes a dialog and focus goes back to what opened it.
    const newGroup = p.getByRole('button', { name: 'New group' });
    await newGroup.click();
    await visible(p.getByRole('dialog', { name: 'New group' }));
    await p.keyboard.press('Escape');
    await hidden(p.getByRole('dialog', { name: 'New group' }));
    await eventually(async () => expect(await newGroup.evaluate((el) => el === document.activeElement)).toBe(true));
    const details = p.getByRole('button', { name: 'Details' });
    await details.click();
    await visible(p.getByRole('dialog', { name: 'Group details' }));
    await p.keyboard.press('Escape');
    await eventually(async () => expect(await details.evaluate((el) => el === document.activeElement)).toBe(true));
  });

  it('one language for text, dates and numbers; chosen from the browser, changeable, remembered', {
    timeout: 90_000,
  }, async () => {
    const dana = await signUpByApi(suite.t, 'Dana Dale');
    // A German browser gets the German UI…
    const de = await page('de-DE');
    // A first visit, signed out: no failed request and no error in the console (the session is asked
    // for with auth.resume, which answers null rather than 401).
    const failures: string[] = [];
    de.on('response', (r) => r.status() >= 400 && failures.push(`${r.status()} ${r.url()}`));
    de.on(
      'console',
      (m) => (m.type() === 'error' || m.type() === 'warning') && failures.push(`console ${m.type()}: ${m.text()}`),
    );
    await de.goto('/');
    await visible(de.getByRole('heading', { name: 'Willkommen zurück' }));
    await de.waitForLoadState('networkidle');
    expect(failures).toEqual([]);
    expect(await de.evaluate(() => document.documentElement.lang)).toBe('de');
    // …and one who chose English in it gets English dates too, not the browser's German ones.
    await de.getByRole('button', { name: 'Anmelden', exact: true }).waitFor();
    await de.evaluate(() => localStorage.setItem('parley.language', 'en'));
    await signIn(de, 'Dana Dale', dana.email, dana.password);
    const since = (await de.getByText(/^Member since/).textContent())!;
    expect(since).toMatch(/^Member since [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M$/);
    await de.getByRole('link', { name: 'Devices and sessions' }).first().click();
    await visible(de.getByText(/Signed in just now/));

    // Changed in the settings: everything follows, at once and after a reload.
    await de.getByRole('link', { name: 'Settings' }).click();
    await de.getByLabel('Language', { exact: true }).selectOption('de');
    await visible(de.getByRole('heading', { name: 'Darstellung und Sprache' }));
    await de.getByRole('link', { name: 'Geräte und Sitzungen' }).first().click();
    await visible(de.getByRole('heading', { name: 'Geräte und Sitzungen' }));
    await visible(de.getByText(/Angemeldet gerade eben/));
    await de.reload();
    await visible(de.getByRole('heading', { name: 'Geräte und Sitzungen' }));
    await de.getByRole('link', { name: 'Zurück zu den Chats' }).click();
    await visible(de.getByRole('heading', { name: 'Hallo, Dana Dale' }));
    expect(await de.getByText(/^Dabei seit/).textContent()).toMatch(/^Dabei seit \d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$/);
  });

  it('comforts: status ticks, theme, keyboard shortcuts', { timeout: 120_000 }, async () => {
    const [erin, finn, gail] = [
      await signUpByApi(suite.t, 'Erin Ember'),
      await signUpByApi(suite.t, 'Finn Frost'),
      await signUpByApi(suite.t, 'Gail Gray'),
    ];
    const group = await finn.client.api.conversations.createGroup.mutate({
      title: 'Book club',
      memberIds: [erin.user.id, gail.user.id],
    });
    const direct = await finn.client.api.conversations.openDirect.mutate({ userId: erin.user.id });
    await send(finn, direct.id, 'Hi Erin');
    await send(finn, group.id, 'Welcome to the club');
    const p = await page();
    await signIn(p, 'Erin Ember', erin.email, erin.password);
    const list = p.getByRole('navigation', { name: 'Conversations' });
    const log = p.getByRole('log', { name: 'Messages' });

    // Ticks in a group: sent, seen by some, seen by everyone.
    await list.getByRole('link', { name: /^Book club/ }).click();
    const composer = p.getByRole('textbox', { name: 'Message Book club' });
    await composer.fill('Chapter one is great');
    await composer.press('Enter');
    const mine = log.locator('.bubble-row.mine').filter({ hasText: 'Chapter one is great' });
    await visible(mine.getByRole('img', { name: 'Sent' }));
    await finn.client.api.messages.markRead.mutate({ conversationId: group.id, seq: 2 });
    await visible(mine.getByRole('img', { name: 'Seen by 1 of 2' }));
    await gail.client.api.messages.markRead.mutate({ conversationId: group.id, seq: 2 });
    await visible(mine.getByRole('img', { name: 'Seen by everyone' }));
    // The group's timeline: how it began came with the history (this device was not there), in its
    // place before the first message; what happens now arrives live, in order.
    const created = log.locator('[data-group-change="created"]');
    await visible(created.getByText('Finn Frost created the group “Book club”'));
    expect(
      await created.evaluate(
        (el) =>
          !!(el.compareDocumentPosition(document.querySelector('[data-seq="1"]')!) & Node.DOCUMENT_POSITION_FOLLOWING),
      ),
    ).toBe(true);
    const hank = await signUpByApi(suite.t, 'Hank Hale');
    await finn.client.api.conversations.addMembers.mutate({ conversationId: group.id, userIds: [hank.user.id] });
    await visible(log.getByText('Finn Frost added Hank Hale'));
    await hank.client.api.conversations.leave.mutate({ conversationId: group.id });
    await visible(log.getByText('Hank Hale left'));
    expect(
      await log
        .locator('[data-group-change]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-group-change'))),
    ).toEqual(['created', 'added', 'left']);
    // Sending, while offline.
    await p.context().setOffline(true);
    await composer.fill('Written offline');
    await composer.press('Enter');
    await visible(log.locator('.pending').getByRole('img', { name: 'Sending' }));
    await p.context().setOffline(false);
    await visible(
      log
        .locator('.bubble-row.mine:not(.pending)')
        .filter({ hasText: 'Written offline' })
        .getByRole('img', { name: 'Sent' }),
    );

    // Theme: dark, chosen in the settings, kept over a reload.
    await p.getByRole('link', { name: 'Settings' }).click();
    await p.getByLabel('Dark').check();
    expect(await p.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await p.reload();
    await visible(p.getByLabel('Dark'));
    expect(await p.getByLabel('Dark').isChecked()).toBe(true);
    expect(await p.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)).toBe('rgb(15, 18, 24)');

    // Keyboard: Ctrl+K searches (the messages), Alt+↓/↑ walk the chat list, ? lists the shortcuts.
    await p.keyboard.press('Control+K');
    await visible(p.getByRole('dialog', { name: 'Search messages' }));
    await p.keyboard.press('Escape');
    await hidden(p.getByRole('dialog', { name: 'Search messages' }));
    await p.goto('/');
    await visible(list);
    const order = await list
      .getByRole('link')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-conversation-id')));
    await p.keyboard.press('Alt+ArrowDown');
    await eventually(async () => expect(p.url()).toBe(`${suite.origin}/c/${order[0]}`));
    await p.keyboard.press('Alt+ArrowDown');
    await eventually(async () => expect(p.url()).toBe(`${suite.origin}/c/${order[1]}`));
    await p.keyboard.press('Alt+ArrowUp');
    await eventually(async () => expect(p.url()).toBe(`${suite.origin}/c/${order[0]}`));
    await log.focus();
    await p.keyboard.press('?');
    const help = p.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await visible(help);
    await visible(help.getByRole('cell', { name: 'Next chat' }));
    expect(await axeSerious(p), 'shortcuts, dark').toEqual([]);
    await screenshots(p, 'shortcuts-dark');
    await p.keyboard.press('Escape');
    await hidden(help);
    await eventually(async () => expect(await log.evaluate((el) => el === document.activeElement)).toBe(true));
  });

  it('every screen passes axe in English and German, light and dark', { timeout: 180_000 }, async () => {
    const [hana, ivan] = [await signUpByApi(suite.t, 'Hana Hill'), await signUpByApi(suite.t, 'Ivan Ives')];
    const group = await ivan.client.api.conversations.createGroup.mutate({ title: 'Team', memberIds: [hana.user.id] });
    await send(ivan, group.id, 'Hello team');
    await send(hana, group.id, 'Hi!');
    // Each language and theme in its own page, all four at once.
    const combination = async (lang: 'en' | 'de', theme: 'light' | 'dark') => {
      const p = await page();
      // The choices as the settings store them, there before the app starts.
      await p.addInitScript(
        ([l, th]) => {
          localStorage.setItem('parley.language', l!);
          localStorage.setItem('parley.preferences', JSON.stringify({ theme: th }));
        },
        [lang, theme],
      );
      const tag = `${lang}-${theme}`;
      const de = lang === 'de';
      const scan = async (screen: string) => {
        expect(await axeSerious(p), `${screen} (${tag})`).toEqual([]);
        // Light English screens are photographed by browser.test.ts; here German light and English dark.
        if (tag === 'de-light' || tag === 'en-dark') await screenshots(p, `${screen}-${tag}`);
      };
      await p.goto('/');
      await visible(p.getByRole('heading', { name: de ? 'Willkommen zurück' : 'Welcome back' }));
      expect(await p.evaluate(() => document.documentElement.lang)).toBe(lang);
      await scan('sign-in');
      await p.getByRole('tab', { name: de ? 'Konto erstellen' : 'Create account' }).click();
      await scan('sign-up');
      await p.getByRole('tab', { name: de ? 'Anmelden' : 'Sign in' }).click();
      await p.getByLabel(de ? 'E-Mail' : 'Email').fill(hana.email);
      await p.getByLabel(de ? 'Passwort' : 'Password', { exact: true }).fill(hana.password);
      await p.getByRole('button', { name: de ? 'Anmelden' : 'Sign in', exact: true }).click();
      await visible(p.getByRole('heading', { name: de ? 'Hallo, Hana Hill' : 'Hi, Hana Hill' }));
      await scan('home');
      await p
        .getByRole('navigation', { name: de ? 'Unterhaltungen' : 'Conversations' })
        .getByRole('link', { name: /^Team/ })
        .click();
      await visible(p.getByRole('log').getByText('Hello team'));
      await visible(
        p
          .getByRole('log')
          .getByText(de ? 'Ivan Ives hat die Gruppe „Team“ erstellt' : 'Ivan Ives created the group “Team”'),
      );
      await scan('chat');
      await p.getByRole('button', { name: 'Details' }).click();
      await visible(p.getByRole('dialog', { name: de ? 'Gruppendetails' : 'Group details' }));
      await scan('group-details');
      await p.keyboard.press('Escape');
      await p.getByRole('button', { name: de ? 'Neue Gruppe' : 'New group' }).click();
      await visible(p.getByRole('dialog', { name: de ? 'Neue Gruppe' : 'New group' }));
      await scan('new-group');
      await p.keyboard.press('Escape');
      await p.getByRole('link', { name: de ? 'Einstellungen' : 'Settings' }).click();
      await visible(p.getByRole('heading', { name: de ? 'Darstellung und Sprache' : 'Appearance and language' }));
      await scan('settings');
      await p.getByRole('button', { name: de ? 'Tastenkürzel' : 'Keyboard shortcuts' }).click();
      await visible(p.getByRole('dialog', { name: de ? 'Tastenkürzel' : 'Keyboard shortcuts' }));
      await scan('shortcuts');
      await p.keyboard.press('Escape');
      await p
        .getByRole('link', { name: de ? 'Geräte und Sitzungen' : 'Devices and sessions' })
        .first()
        .click();
      await visible(p.getByRole('heading', { name: de ? 'Geräte und Sitzungen' : 'Devices and sessions' }));
      await scan('sessions');
      await p.getByLabel(de ? 'Personen suchen' : 'Search people').fill('Ivan');
      await visible(p.getByRole('button', { name: de ? 'Ivan Ives schreiben' : 'Message Ivan Ives' }));
      await scan('people-search');
      await p.getByLabel(de ? 'Personen suchen' : 'Search people').fill('');
    };
    await Promise.all(
      (
        [
          ['en', 'light'],
          ['en', 'dark'],
          ['de', 'light'],
          ['de', 'dark'],
        ] as const
      ).map(([l, th]) => combination(l, th)),
    );
  });
});
