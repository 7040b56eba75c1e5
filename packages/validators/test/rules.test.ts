import { describe, expect, it } from 'vitest';
import { displayName, loginInput, password } from '../src/index.js';

describe('password and display-name rules', () => {
  it('login refuses over 72 UTF-8 bytes; sign-up refuses all spaces', () => {
    expect(loginInput.safeParse({ email: 'a@b.example', password: 'x'.repeat(72) }).success).toBe(true);
    expect(loginInput.safeParse({ email: 'a@b.example', password: 'x'.repeat(73) }).success).toBe(false);
    expect(loginInput.safeParse({ email: 'a@b.example', password: 'é'.repeat(37) }).success).toBe(false);
    expect(password.safeParse(' '.repeat(8)).success).toBe(false);
    expect(password.safeParse('\u3000'.repeat(8)).success).toBe(false);
    expect(password.safeParse('staple battery 123').success).toBe(true);
  });

  it.each([
    'Ann\u0007',
    'Ann\u0085x',
    'Ann\u202Egnp.exe',
    '\u2066Ann',
    'Ann\u200F',
    '\u200B\u200C\u200D\uFEFF',
    '\u3164',
    '\u0301\u0301',
    '\u2800\u2800',
    '\u{E0041}\u{E0042}',
    '\u00AD',
    '\uFE0F',
  ])('refuses the display name %j', (name) => {
    expect(displayName.safeParse(name).success).toBe(false);
  });

  it('keeps real names of every script', () => {
    for (const name of ['Ann', 'José', 'مرحبا', 'שלום', '李小龍', 'Zoë 👩‍👩‍👧‍👦', 'Ṭhe Ñame', 'नमस्ते', 'ᄀ가']) {
      expect(displayName.safeParse(name).success, name).toBe(true);
    }
  });
});
