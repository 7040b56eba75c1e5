import type { TRPCClient } from '@trpc/client';
import type { AppRouter } from '@parley/api';
import { cursorCovers, type ParleyEvent } from '@parley/protocol';

export type { ParleyEvent } from '@parley/protocol';

export interface EventFollower {
  /** The id of the last tracked event handed to `onEvent`: persist it to resume later. */
  readonly lastEventId: string | null;
  stop(): void;
}

/**
 * Follows the user's event stream and never loses or repeats an event: every (re)subscription
 * carries the last cursor seen, the server replays what was missed, and events it already covers
 * are dropped. When the server cannot resume (`resync`: the cursor is from an older version or
 * older than the retained log), `onResync` says to reload the state; following goes on.
 * tRPC's socket resubscribes by itself after a drop; this also restarts after an error.
 */
export function followEvents(
  api: TRPCClient<AppRouter>,
  handlers: {
    lastEventId?: string | null;
    onEvent: (event: ParleyEvent, id: string | null) => void;
    onStarted?: () => void;
    /** The server could not resume from the cursor: reload the state, then go on. */
    onResync?: () => void;
    onError?: (err: unknown) => void;
    /** The server ended the subscription (following restarts by itself). */
    onComplete?: () => void;
  },
): EventFollower {
  let last = handlers.lastEventId ?? null;
  let stopped = false;
  let subscription: { unsubscribe(): void } | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const restart = () => {
    subscription?.unsubscribe();
    if (!stopped) retry = setTimeout(start, 250);
  };
  const start = () => {
    subscription = api.messages.onEvent.subscribe(last ? { lastEventId: last } : undefined, {
      onStarted: () => handlers.onStarted?.(),
      onData: (envelope) => {
        if (typeof envelope === 'object' && envelope !== null && 'id' in envelope && 'data' in envelope) {
          // The cursor is opaque; cursorCovers tells an event this follower has already seen.
          if (last !== null && cursorCovers(last, envelope.id)) return;
          last = envelope.id;
          if (envelope.data.type === 'resync') handlers.onResync?.();
          else if (envelope.data.type !== 'ready') handlers.onEvent(envelope.data, envelope.id);
        } else handlers.onEvent(envelope, null);
      },
      onError: (err) => {
        handlers.onError?.(err);
        if ((err as { data?: { code?: string } }).data?.code !== 'UNAUTHORIZED') restart();
      },
      onComplete: () => {
        handlers.onComplete?.();
        restart();
      },
    });
  };
  start();

  return {
    get lastEventId() {
      return last;
    },
    stop() {
      stopped = true;
      clearTimeout(retry);
      subscription?.unsubscribe();
    },
  };
}
