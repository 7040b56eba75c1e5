import { useEffect, useId, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { CallState, CallStore, Devices } from './callStore';

/** Picks the microphone, camera and speaker (the speaker where the browser supports setSinkId). */
export function DevicePanel({
  store,
  s,
  video,
  onClose,
}: {
  store: CallStore;
  s: CallState;
  video: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation('calls');
  const id = useId();
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);
  const canPickSpeaker = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
  const kinds: (keyof Devices)[] = [
    'audioinput',
    ...(video ? (['videoinput'] as const) : []),
    ...(canPickSpeaker ? (['audiooutput'] as const) : []),
  ];
  return (
    <div
      id="call-devices"
      className="call-devices"
      role="group"
      aria-label={t('devices.title')}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      {kinds.map((kind, i) => {
        const list = s.devices[kind];
        return (
          <div key={kind} className="device-row">
            <label htmlFor={`${id}-${kind}`}>{t(`devices.${kind}`)}</label>
            <select
              id={`${id}-${kind}`}
              ref={i === 0 ? first : undefined}
              value={s.selected[kind] ?? ''}
              onChange={(e) => void store.selectDevice(kind, e.target.value)}
              disabled={list.length === 0}
            >
              {s.selected[kind] === null && <option value="">{t('devices.default')}</option>}
              {list.map((d, n) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {d.label || t(`devices.unnamed.${kind}`, { n: n + 1 })}
                </option>
              ))}
            </select>
          </div>
        );
      })}
      <button type="button" className="ghost small" onClick={onClose}>
        {t('common:close')}
      </button>
    </div>
  );
}
