import { useTranslation } from 'react-i18next';
import { formatNumber } from '../format';

export const MESSAGE_MAX = 4000;

/**
 * Shown instead of silently cutting a paste that would make the message too long: how long it
 * is, and what can be done (paste what fits, send it as a file when files can be sent, or not).
 */
export function PasteNotice({
  id,
  length,
  onPasteFit,
  onSendAsFile,
  onCancel,
}: {
  id: string;
  length: number;
  onPasteFit: () => void;
  onSendAsFile?: (() => void) | undefined;
  onCancel: () => void;
}) {
  const { t } = useTranslation('chat');
  return (
    <div className="paste-notice composer-note" id={id} role="alert">
      <p>{t('paste.tooLong', { length: formatNumber(length), max: formatNumber(MESSAGE_MAX) })}</p>
      <div className="button-row">
        {onSendAsFile && (
          <button type="button" className="secondary small" onClick={onSendAsFile}>
            {t('paste.asFile')}
          </button>
        )}
        <button type="button" className="ghost small" onClick={onPasteFit}>
          {t('paste.fit', { max: formatNumber(MESSAGE_MAX) })}
        </button>
        <button type="button" className="ghost small" onClick={onCancel}>
          {t('common:cancel')}
        </button>
      </div>
    </div>
  );
}
