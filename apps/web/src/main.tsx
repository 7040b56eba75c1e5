import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './i18n';
import './settings/preferences';
import './settings/preferences.css';
import { App } from './App';
import { registerServiceWorker } from './notifications/push';
import { SessionProvider } from './session';
import './styles.css';
import { queryClient, trpc, trpcClient } from './trpc';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <trpc.Provider client={trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <SessionProvider>
          <App />
        </SessionProvider>
      </QueryClientProvider>
    </trpc.Provider>
  </StrictMode>,
);

// The offline shell and push notifications (production builds).
void registerServiceWorker();
