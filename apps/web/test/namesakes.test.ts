import { describe, expect, it } from 'vitest';
import { comparableName, namesakes } from '../src/chat/namesakes';

const member = (id: string, displayName: string) => ({ id, displayName });

describe('namesakes', () => {
  it('marks every member whose name another member shares, and nobody else', () => {
    const members = [member('a', 'Alice Adams'), member('b', 'Bob'), member('c', 'alice  adams'), member('d', 'Carol')];
    expect([...namesakes(members)].sort()).toEqual(['a', 'c']);
    expect(namesakes([member('a', 'Alice'), member('b', 'Bob')]).size).toBe(0);
  });

  it('sees through case, accents, width forms, spacing and invisible characters', () => {
    expect(comparableName('José')).toBe(comparableName('JOSE'));
    expect(comparableName('Ａｌｉｃｅ')).toBe(comparableName('alice'));
    expect(comparableName('Al\u200Bice')).toBe(comparableName('Alice'));
    expect(comparableName(' Bob\u00A0 Baker ')).toBe(comparableName('bob baker'));
    expect(comparableName('Bob')).not.toBe(comparableName('Rob'));
  });
});
