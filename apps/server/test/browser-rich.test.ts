/**
 * Rich messages in a real browser, two people: formatting and links render (and a javascript:
 * link or HTML in a message never runs); reply, react (quick and from the emoji picker), edit and
 * delete are seen live on the other side; 1-3 emoji show large; Ctrl+K search finds a message
 * 200 back and opens it in context, highlighted. axe scans the menu, the picker and the search
 * panel; screenshots at 375 and 1280 px.
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

describe.skipIf(!hasChromium)('rich messages in a browser', () => {
  const suite = browserSuite();

  async function open(name: string, email: string, conversationId: string): Promise<Page> {
    const ctx = await suite.context();
    const page = await ctx.newPage();
    await signIn(page, name, email);
    await page.goto(`/c/${conversationId}`);
    return page;
  }
  // The first row with this text (a reply's quote may repeat it further down).
  const row = (page: Page, text: string) =>
    page.getByRole('log', { name: 'Messages' }).locator('.bubble-row', { hasText: text }).first();
  const composer = (page: Page) => page.locator('.composer textarea');

  it('formatting, reply, reactions, edit, delete live on the other side; search jumps 200 back', {
    timeout: 180_000,
  }, async () => {
    const alice = await signUpByApi(suite.t, 'Alice Rich');
    const bob = await signUpByApi(suite.t, 'Bob Rich');
    const conv = await alice.client.api.conversations.openDirect.mutate({ userId: bob.user.id });
    // History through the API: the message to find, then 200 after it.
    const send = (p: typeof alice, body: string) =>
      p.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body });
    await send(bob, 'The zebra crossing plan is on the wiki');
    for (let i = 0; i < 200; i++) await send(i % 2 ? alice : bob, `filler message ${i}`);

    const [a, b] = await Promise.all([open('Alice Rich', alice.email, conv.id), open('Bob Rich', bob.email, conv.id)]);
    await visible(row(b, 'filler message 199'));

    // Formatting and links, and hostile text that must stay text.
    await composer(a).fill(
      '**bold** _soft_ ~~gone~~ `x < y` see https://example.org/page. javascript:window.__pwned=1 <img src=x onerror="window.__pwned=2">',
    );
    await composer(a).press('Enter');
    const formatted = row(b, 'see https://example.org/page');
    await visible(formatted);
    await expect.poll(() => formatted.locator('strong').textContent()).toBe('bold');
    expect(await formatted.locator('em').textContent()).toBe('soft');
    expect(await formatted.locator('del').textContent()).toBe('gone');
    expect(await formatted.locator('code').textContent()).toBe('x < y');
    const link = formatted.getByRole('link', { name: 'https://example.org/page' });
    expect(await link.getAttribute('href')).toBe('https://example.org/page');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await formatted.locator('a').count()).toBe(1);
    expect(await formatted.locator('img').count()).toBe(0);
    expect(await formatted.textContent()).toContain('<img src=x onerror="window.__pwned=2">');
    expect(await b.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();

    // Bob opens the menu with a right click: reply.
    await row(b, 'see https://example.org/page').locator('.bubble').click({ button: 'right' });
    const menu = b.getByRole('menu', { name: 'Message actions' });
    await visible(menu);
    expect(await axeSerious(b), 'message menu').toEqual([]);
    await screenshots(b, 'rich-menu');
    await menu.getByRole('menuitem', { name: 'Reply' }).click();
    await visible(b.getByText('Replying to Alice Rich'));
    await composer(b).fill('Nice formatting');
    await composer(b).press('Enter');
    const reply = row(a, 'Nice formatting');
    await visible(reply.locator('.quote', { hasText: 'bold' }));

    // Quick reaction from the ⋯ button; then one from the picker, found by searching.
    const target = row(b, 'see https://example.org/page');
    await target.getByRole('button', { name: 'Message actions' }).click();
    await menu.getByRole('menuitem', { name: 'React with 👍' }).click();
    await visible(row(a, 'see https://example.org/page').getByRole('button', { name: '👍 1 from Bob Rich' }));
    await target.getByRole('button', { name: 'Message actions' }).click();
    await menu.getByRole('menuitem', { name: 'Add reaction…' }).click();
    const picker = b.getByRole('dialog', { name: 'Choose a reaction' });
    await visible(picker.getByRole('searchbox', { name: 'Search emoji' }).or(picker.getByLabel('Search emoji')));
    await visible(picker.locator('button', { hasText: '😀' }));
    expect(await axeSerious(b), 'emoji picker').toEqual([]);
    await screenshots(b, 'rich-emoji-picker');
    await picker.getByLabel('Search emoji').fill('rocket');
    await picker.locator('button', { hasText: '🚀' }).first().click();
    await visible(row(a, 'see https://example.org/page').getByRole('button', { name: '🚀 1 from Bob Rich' }));
    // Alice adds hers to 👍: the chip names both.
    await row(a, 'see https://example.org/page').getByRole('button', { name: '👍 1 from Bob Rich' }).click();
    await visible(
      row(b, 'see https://example.org/page').getByRole('button', {
        name: /👍 2 from (You and Alice Rich|Alice Rich and You)/,
      }),
    );

    // Alice edits her message from the keyboard: the menu key on the focused message.
    const mine = row(a, 'see https://example.org/page');
    await mine.getByRole('button', { name: 'Message actions' }).focus();
    await a.keyboard.press('Enter');
    await a.getByRole('menu', { name: 'Message actions' }).getByRole('menuitem', { name: 'Edit' }).focus();
    await a.keyboard.press('Enter');
    await visible(a.getByText('Editing message'));
    await composer(a).fill('**bold** and now edited, see https://example.org/page');
    await composer(a).press('Enter');
    await visible(row(b, 'and now edited').getByText('edited ·'));
    // Bob's quote follows the edit.
    await visible(row(b, 'Nice formatting').locator('.quote', { hasText: 'and now edited' }));

    // 1-3 emoji only: large.
    await composer(a).fill('🎉🎉');
    await composer(a).press('Enter');
    await visible(b.locator('.body.emoji-only', { hasText: '🎉🎉' }));
    // ↑ in the empty composer edits one's latest message; Escape lets go of it.
    await composer(a).press('ArrowUp');
    await visible(a.getByText('Editing message'));
    expect(await composer(a).inputValue()).toBe('🎉🎉');
    await composer(a).press('Escape');
    await hidden(a.getByText('Editing message'));
    expect(await composer(a).inputValue()).toBe('');
    await screenshots(b, 'rich-chat');

    // Alice deletes it, after confirming: Bob sees the tombstone, and the quote says so.
    await row(a, 'and now edited').getByRole('button', { name: 'Message actions' }).click();
    await a.getByRole('menuitem', { name: 'Delete' }).click();
    const confirm = a.getByRole('dialog', { name: 'Delete message?' });
    await visible(confirm);
    await confirm.getByRole('button', { name: 'Delete for everyone' }).click();
    await eventually(async () => expect(await row(b, 'and now edited').count()).toBe(0));
    await visible(row(b, 'Nice formatting').locator('.quote', { hasText: 'Message deleted' }));
    expect(await b.getByRole('log', { name: 'Messages' }).locator('.bubble-row.deleted').count()).toBe(1);

    // Search with Ctrl+K: a hit 200 messages back opens in context, highlighted.
    await b.keyboard.press('Control+k');
    const panel = b.getByRole('dialog', { name: 'Search messages' });
    await visible(panel);
    await panel.getByLabel('Search your messages').fill('zebra');
    const hit = panel.getByRole('button', { name: /zebra crossing plan/ });
    await visible(hit);
    expect(await hit.locator('mark').textContent()).toBe('zebra');
    expect(await axeSerious(b), 'search panel').toEqual([]);
    await screenshots(b, 'rich-search');
    await hit.click();
    const found = b.locator('.bubble-row.highlighted', { hasText: 'The zebra crossing plan' });
    await visible(found);
    await eventually(async () =>
      expect(
        await found.evaluate((el) => {
          const box = el.getBoundingClientRect();
          const log = el.closest('.messages')!.getBoundingClientRect();
          return box.top >= log.top && box.bottom <= log.bottom;
        }),
      ).toBe(true),
    );
    // Back to the newest from the window.
    await b.getByRole('button', { name: 'Jump to latest ↓' }).click();
    await visible(row(b, 'Nice formatting'));
  });
});
