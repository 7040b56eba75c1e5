import { describe, expect, it } from 'vitest';
import { showBidiControls } from '../src/chat/RichText';

describe('bidi controls in link text', () => {
  it('are shown, not obeyed', () => {
    expect(showBidiControls('https://example.com/\u202Etxt.exe')).toBe('https://example.com/⟨U+202E⟩txt.exe');
    expect(showBidiControls('\u2066a\u2069\u200F')).toBe('⟨U+2066⟩a⟨U+2069⟩⟨U+200F⟩');
    expect(showBidiControls('plain مرحبا link')).toBe('plain مرحبا link');
  });
});
