import { useState } from 'react';
import { currentLanguage } from '../i18n';
import { initials } from '../text';

/** Each at least 4.5:1 against the white initials. */
const PALETTE = ['#4f5bd5', '#0f766e', '#c2410c', '#7c3aed', '#15803d', '#be185d', '#0369a1', '#a16207'];

function hash(s: string) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(h);
}

export function Avatar({
  name,
  seed,
  size = 40,
  online,
  group = false,
  url,
}: {
  name: string;
  seed: string;
  size?: number;
  online?: boolean | undefined;
  group?: boolean;
  /** The person's picture (`avatarUrl`); the initials stand in without one, or when it fails to load. */
  url?: string | null | undefined;
}) {
  const [failed, setFailed] = useState<string | null>(null);
  const picture = url && failed !== url ? url : null;
  return (
    <span
      className={`avatar${group ? ' group' : ''}`}
      style={{
        width: size,
        height: size,
        fontSize: Math.round(size * 0.38),
        background: PALETTE[hash(seed) % PALETTE.length],
      }}
      aria-hidden="true"
    >
      {picture ? (
        <img className="avatar-picture" src={picture} alt="" onError={() => setFailed(picture)} />
      ) : (
        initials(name, currentLanguage())
      )}
      {online !== undefined && <span className={`presence-dot${online ? ' online' : ''}`} />}
    </span>
  );
}
