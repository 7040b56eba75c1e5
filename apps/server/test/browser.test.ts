/**
 * The web app in a real browser (Debian's Chromium through playwright-core): two people sign up,
 * find each other, chat both ways in real time, see typing and read receipts, go offline and
 * back, reload and see the history, sign out (and out everywhere, from a second device); a group
 * is made, renamed, grown and left; long history loads on scrolling up. Every screen is scanned
 * with axe-core and photographed at phone and desktop widths (test-results/screenshots/).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { signUp as signUpByApi } from './helpers.js';
import {
  axeSerious,
  browserSuite,
  eventually,
  hasChromium,
  hidden,
  screenshots,
  signIn,
  signUp,
  T,
  visible,
} from './browser-helpers.js';

describe.skipIf(!hasChromium)('web app in a browser', () => {
  const suite = browserSuite();

  async function person(): Promise<Page> {
    const ctx = await suite.context();
    return ctx.newPage();
  }

  it('two people sign up, chat in real time, see typing and receipts, reload, sign out', {
    timeout: 180_000,
  }, async () => {
    const alice = await person();
    const bob = await person();
    const stamp = Date.now().toString(36);

    // The sign-in screen.
    await alice.goto('/');
    await visible(alice.getByRole('heading', { name: 'Welcome back' }));
    expect(await axeSerious(alice), 'sign-in screen').toEqual([]);
    await screenshots(alice, 'sign-in');
    await alice.getByRole('tab', { name: 'Create account' }).click();
    await visible(alice.getByLabel('Display name'));
    expect(await axeSerious(alice), 'sign-up screen').toEqual([]);
    await screenshots(alice, 'sign-up');

    await Promise.all([
      signUp(alice, 'Alice Archer', `alice-${stamp}@example.test`),
      signUp(bob, 'Bob Baker', `bob-${stamp}@example.test`),
    ]);

    // Alice finds Bob and opens a direct chat.
    await alice.getByLabel('Search people').fill('Bob');
    await alice.getByRole('button', { name: 'Message Bob Baker' }).click();
    const aliceComposer = alice.getByRole('textbox', { name: 'Message Bob Baker' });
    await visible(aliceComposer);
    await aliceComposer.fill('Hello Bob, it is Alice');
    await aliceComposer.press('Enter');
    const aliceLog = alice.getByRole('log', { name: 'Messages' });
    await visible(aliceLog.getByText('Hello Bob, it is Alice'));
    await visible(aliceLog.getByText('Sent', { exact: true }));

    // Bob sees the conversation appear, unread, and opens it.
    const bobConversations = bob.getByRole('navigation', { name: 'Conversations' });
    const bobRow = bobConversations.getByRole('link', { name: /^Alice Archer/ });
    await visible(bobRow);
    await visible(bobConversations.getByText('Hello Bob, it is Alice'));
    // Unread and online, in the row's name too (the badge and the dot are only seen).
    await visible(bobConversations.getByRole('link', { name: /^Alice Archer\s*, online, 1 unread/ }));
    expect(await axeSerious(bob), 'conversation list').toEqual([]);
    await screenshots(bob, 'conversation-list');
    await bobRow.click();
    const bobLog = bob.getByRole('log', { name: 'Messages' });
    await visible(bobLog.getByText('Hello Bob, it is Alice'));

    // Alice sees that Bob read it.
    await visible(aliceLog.getByText('Seen', { exact: true }));

    // Bob types: Alice sees it (the indicator lapses after a few seconds, so keep typing).
    const bobComposer = bob.getByRole('textbox', { name: 'Message Alice Archer' });
    let n = 0;
    await eventually(async () => {
      await bobComposer.fill(`Hi Alice${'!'.repeat(++n % 5)}`);
      await visible(alice.getByText('Bob Baker is typing…'), 4_000);
    });
    await bobComposer.fill('Hi Alice, good to see you here');
    await bobComposer.press('Enter');
    await visible(aliceLog.getByText('Hi Alice, good to see you here'));
    await visible(bobLog.getByText('Hi Alice, good to see you here'));
    // Alice has the chat open, so Bob's message is read at once.
    await visible(bobLog.getByText('Seen', { exact: true }));

    // And back again, in real time.
    await aliceComposer.fill('Lunch tomorrow?');
    await aliceComposer.press('Enter');
    await visible(bobLog.getByText('Lunch tomorrow?'));

    expect(await axeSerious(alice), 'chat view').toEqual([]);
    await screenshots(alice, 'chat');

    // Offline: a banner says so; a message written meanwhile waits and goes once back, and what
    // was said meanwhile arrives.
    await alice.context().setOffline(true);
    const offline = alice.getByText('You are offline. Messages will be sent when you are back.');
    await visible(offline);
    await aliceComposer.fill('Written offline');
    await aliceComposer.press('Enter');
    await visible(aliceLog.locator('.pending').getByText('Written offline'));
    expect(await axeSerious(alice), 'offline').toEqual([]);
    await screenshots(alice, 'chat-offline');
    await bobComposer.fill('Said while you were away');
    await bobComposer.press('Enter');
    await visible(bobLog.getByText('Said while you were away'));
    await alice.context().setOffline(false);
    await hidden(offline);
    await visible(aliceLog.getByText('Said while you were away'));
    await visible(bobLog.getByText('Written offline'));
    await hidden(aliceLog.locator('.pending'));

    // Reload: still signed in (refresh cookie), history is there, in order.
    await Promise.all([alice.reload(), bob.reload()]);
    for (const [page, log] of [
      [alice, aliceLog],
      [bob, bobLog],
    ] as const) {
      await visible(log.getByText('Hello Bob, it is Alice'));
      await visible(log.getByText('Hi Alice, good to see you here'));
      await visible(log.getByText('Written offline'));
      const bodies = await log.locator('.bubble .body').allTextContents();
      expect(bodies).toEqual([
        'Hello Bob, it is Alice',
        'Hi Alice, good to see you here',
        'Lunch tomorrow?',
        'Said while you were away',
        'Written offline',
      ]);
      void page;
    }

    // Alice signs in on a second device too; the sessions screen lists both.
    const alicePhone = await person();
    await signIn(alicePhone, 'Alice Archer', `alice-${stamp}@example.test`);
    await alice.getByRole('link', { name: 'Devices and sessions' }).click();
    await visible(alice.getByRole('heading', { name: 'Devices and sessions' }));
    await visible(alice.getByText('This device'));
    await eventually(async () => expect(await alice.locator('.session-list > li').count()).toBe(2));
    expect(await alice.getByText('This device').count()).toBe(1);
    expect(await axeSerious(alice), 'sessions screen').toEqual([]);
    await screenshots(alice, 'sessions');

    // Signing out the other device from here ends that session at once, and only that one.
    await alice.getByRole('button', { name: /^Sign out .*, last active/ }).click();
    await visible(alicePhone.getByText('Your session has ended. Please sign in again.'));
    await eventually(async () => expect(await alice.locator('.session-list > li').count()).toBe(1));
    await visible(alice.getByText('This device'));
    await signIn(alicePhone, 'Alice Archer', `alice-${stamp}@example.test`);
    await alice.reload();
    await eventually(async () => expect(await alice.locator('.session-list > li').count()).toBe(2));

    // Signing out everywhere ends the other device's session too.
    await alice.getByRole('button', { name: 'Sign out everywhere' }).click();
    await alice.getByRole('button', { name: 'Yes, sign out everywhere' }).click();
    await visible(alice.getByText('You have been signed out on every device.'));
    await visible(alicePhone.getByRole('heading', { name: 'Welcome back' }));
    await visible(alicePhone.getByText('Your session has ended. Please sign in again.'));
    await alicePhone.reload();
    await visible(alicePhone.getByRole('heading', { name: 'Welcome back' }));

    // Sign out (it asks first); a reload stays signed out.
    for (const page of [bob]) {
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.getByRole('button', { name: 'Yes, sign out' }).click();
      await visible(page.getByRole('heading', { name: 'Welcome back' }));
      await visible(page.getByText('You have signed out.'));
      await page.reload();
      await visible(page.getByRole('heading', { name: 'Welcome back' }));
    }
    void T;
  });

  it('a group: create it, rename it, add someone, leave it', { timeout: 120_000 }, async () => {
    const [alice, bob, carol] = [await person(), await person(), await person()];
    const stamp = `${Date.now().toString(36)}g`;
    const email = (who: string) => `${who}-${stamp}@example.test`;
    await Promise.all([
      signUp(alice, 'Alice Archer', email('alice')),
      signUp(bob, 'Bob Baker', email('bob')),
      signUp(carol, 'Carol Cole', email('carol')),
    ]);

    // Alice makes a group with Bob.
    await alice.getByRole('button', { name: 'New group' }).click();
    const newGroup = alice.getByRole('dialog', { name: 'New group' });
    await visible(newGroup);
    await newGroup.getByRole('button', { name: /^Create group/ }).click();
    await visible(newGroup.getByText('Add at least one person'));
    await newGroup.getByLabel('Group name').fill('Weekend plans');
    // By exact email: the first test made another Bob Baker.
    await newGroup.getByLabel('Add people').fill(email('bob'));
    await newGroup.getByRole('button', { name: /Bob Baker/ }).click();
    await visible(newGroup.getByRole('list', { name: 'Selected people' }).getByText('Bob Baker'));
    expect(await axeSerious(alice), 'new group dialog').toEqual([]);
    await screenshots(alice, 'new-group');
    await newGroup.getByRole('button', { name: 'Create group (2)' }).click();
    await visible(alice.getByRole('heading', { name: 'Weekend plans' }));
    const composer = alice.getByRole('textbox', { name: 'Message Weekend plans' });
    await composer.fill('Who is in?');
    await composer.press('Enter');

    // Bob sees it arrive, with the message.
    const bobList = bob.getByRole('navigation', { name: 'Conversations' });
    await visible(bobList.getByRole('link', { name: /^Weekend plans/ }));
    await visible(bobList.getByText('Who is in?'));

    // Alice renames it and adds Carol.
    await alice.getByRole('button', { name: 'Details' }).click();
    const details = alice.getByRole('dialog', { name: 'Group details' });
    await visible(details);
    await visible(details.getByText('2 members'));
    const name = details.getByLabel('Group name');
    await name.fill('Weekend trip');
    await details.getByRole('button', { name: 'Rename' }).click();
    await visible(details.getByText('Saved.'));
    await details.getByLabel('Add members').fill(email('carol'));
    await details.getByRole('button', { name: /Carol Cole/ }).click();
    await details.getByRole('button', { name: 'Add 1 person' }).click();
    await visible(details.getByText('3 members'));
    expect(await axeSerious(alice), 'group details dialog').toEqual([]);
    await screenshots(alice, 'group-details');
    // Escape closes a dialog.
    await alice.keyboard.press('Escape');
    await hidden(details);
    await visible(alice.getByRole('heading', { name: 'Weekend trip' }));

    // Bob sees the new name; Carol sees the group and its history from the start.
    await visible(bobList.getByRole('link', { name: /^Weekend trip/ }));
    await carol
      .getByRole('navigation', { name: 'Conversations' })
      .getByRole('link', { name: /^Weekend trip/ })
      .click();
    await visible(carol.getByRole('log', { name: 'Messages' }).getByText('Who is in?'));

    // Bob leaves: the group goes from his list, and the others see two members.
    await bobList.getByRole('link', { name: /^Weekend trip/ }).click();
    await bob.getByRole('button', { name: 'Details' }).click();
    const bobDetails = bob.getByRole('dialog', { name: 'Group details' });
    await bobDetails.getByRole('button', { name: 'Leave group' }).click();
    await bobDetails.getByRole('button', { name: 'Yes, leave group' }).click();
    await hidden(bobList.getByRole('link', { name: /^Weekend trip/ }));
    await alice.getByRole('button', { name: 'Details' }).click();
    await visible(details.getByText('2 members'));
    expect(await details.getByText('Bob Baker').count()).toBe(0);
  });

  it('marks members of one conversation who share a name, where names are shown', { timeout: 60_000 }, async () => {
    const gina = await signUpByApi(suite.t, 'Gina Grey');
    const hank = await signUpByApi(suite.t, 'Hank Hill');
    const impostor = await signUpByApi(suite.t, 'hank  HILL');
    const ivy = await signUpByApi(suite.t, 'Ivy Ives');
    const group = await gina.client.api.conversations.createGroup.mutate({
      title: 'Namesakes',
      memberIds: [hank.user.id, impostor.user.id, ivy.user.id],
    });
    await hank.client.api.messages.send.mutate({
      conversationId: group.id,
      clientId: randomUUID(),
      body: 'The real Hank',
    });
    await impostor.client.api.messages.send.mutate({
      conversationId: group.id,
      clientId: randomUUID(),
      body: 'Send me the code',
    });
    await ivy.client.api.messages.send.mutate({ conversationId: group.id, clientId: randomUUID(), body: 'Ivy here' });

    const page = await person();
    await signIn(page, 'Gina Grey', gina.email, gina.password);
    await page
      .getByRole('navigation', { name: 'Conversations' })
      .getByRole('link', { name: /^Namesakes/ })
      .click();
    const log = page.getByRole('log', { name: 'Messages' });
    await visible(log.getByText('Ivy here'));
    // Both Hanks carry the mark; Ivy, whose name nobody shares, does not.
    const mark = 'Same name as another member';
    await eventually(async () => expect(await log.getByRole('img', { name: mark }).count()).toBe(2));
    await page.getByRole('button', { name: 'Details' }).click();
    const details = page.getByRole('dialog', { name: 'Group details' });
    await visible(details.getByText('2 members here share a name with someone else', { exact: false }));
    expect(await details.getByRole('img', { name: mark }).count()).toBe(2);
    expect(await axeSerious(page), 'namesake marks').toEqual([]);
  });

  it('history loads as one scrolls up, in order, with the place kept', { timeout: 60_000 }, async () => {
    // 70 messages between Dana and Eve, written through the API: more than one page (50).
    const dana = await signUpByApi(suite.t, 'Dana Dale');
    const eve = await signUpByApi(suite.t, 'Eve Eden');
    const c = await dana.client.api.conversations.openDirect.mutate({ userId: eve.user.id });
    for (let i = 1; i <= 70; i++) {
      const from = i % 2 ? dana : eve;
      await from.client.api.messages.send.mutate({
        conversationId: c.id,
        clientId: randomUUID(),
        body: `Message ${i}`,
      });
    }

    const page = await person();
    await signIn(page, 'Dana Dale', dana.email, dana.password);
    await page
      .getByRole('navigation', { name: 'Conversations' })
      .getByRole('link', { name: /^Eve Eden/ })
      .click();
    const log = page.getByRole('log', { name: 'Messages' });
    await visible(log.getByText('Message 70', { exact: true }));
    expect(await log.locator('.bubble .body').count()).toBe(50);
    expect(await log.getByText('Message 1', { exact: true }).count()).toBe(0);

    // Scroll up: the rest arrives above, and what was on top stays in view.
    const oldest = log.getByText('Message 21', { exact: true });
    await log.evaluate((el) => el.scrollTo({ top: 0 }));
    await visible(log.getByText('Message 1', { exact: true }));
    await visible(log.getByText('This is the beginning of the conversation.'));
    await expect
      .poll(() =>
        oldest.evaluate((el) => {
          const box = el.getBoundingClientRect();
          const view = el.closest('[role="log"]')!.getBoundingClientRect();
          return box.bottom > view.top && box.top < view.bottom;
        }),
      )
      .toBe(true);
    const bodies = await log.locator('.bubble .body').allTextContents();
    expect(bodies).toEqual(Array.from({ length: 70 }, (_, i) => `Message ${i + 1}`));
  });
});
