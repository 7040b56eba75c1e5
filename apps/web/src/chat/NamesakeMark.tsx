import { useTranslation } from 'react-i18next';

/** Shown after a name that another member of the conversation also uses. */
export function NamesakeMark() {
  const { t } = useTranslation('chat');
  return (
    <span className="namesake-mark" role="img" aria-label={t('namesake.mark')} title={t('namesake.explain')}>
      ⚠︎
    </span>
  );
}
