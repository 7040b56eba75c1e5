import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { getConnectionState, onConnectionChange } from '../trpc';

/** Says so when the live connection is down; the client reconnects by itself. */
export function ConnectionBanner({ live }: { live: boolean }) {
  const [socket, setSocket] = useState(getConnectionState);
  const [online, setOnline] = useState(() => navigator.onLine);
  const [grace, setGrace] = useState(true);
  const { t } = useTranslation('chat');

  useEffect(() => onConnectionChange(setSocket), []);
  useEffect(() => {
    const up = () => setOnline(true);
    const down = () => setOnline(false);
    window.addEventListener('online', up);
    window.addEventListener('offline', down);
    // Do not flash a banner while the first connection is being made.
    const t = setTimeout(() => setGrace(false), 2_500);
    return () => {
      window.removeEventListener('online', up);
      window.removeEventListener('offline', down);
      clearTimeout(t);
    };
  }, []);

  const down = !online || socket === 'closed' || (!live && !grace);
  if (!down) return null;
  return (
    <div className="banner" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {online ? t('connection.reconnecting') : t('connection.offline')}
    </div>
  );
}
