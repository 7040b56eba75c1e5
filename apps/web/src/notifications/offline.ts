/**
 * What must survive a reload or a closed tab, in IndexedDB: messages written but not yet
 * acknowledged (the outbox, each with the clientId it was first sent with, so sending it again
 * can never make a second message) and the draft of each conversation.
 */
export interface OutboxItem {
  clientId: string;
  /** The signed-in user who wrote it: another account on this browser never sends it. */
  userId: string;
  conversationId: string;
  body: string;
  createdAt: string;
}

const DB_NAME = 'parley-offline';
const OUTBOX = 'outbox';
const DRAFTS = 'drafts';

let opening: Promise<IDBDatabase | null> | null = null;
function db(): Promise<IDBDatabase | null> {
  opening ??= new Promise((resolve) => {
    if (typeof indexedDB === 'undefined') return resolve(null);
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      const d = req.result;
      if (!d.objectStoreNames.contains(OUTBOX)) d.createObjectStore(OUTBOX, { keyPath: 'clientId' });
      if (!d.objectStoreNames.contains(DRAFTS)) d.createObjectStore(DRAFTS);
    };
    req.onsuccess = () => resolve(req.result);
    // Private mode or storage off: the app works, only without surviving a reload.
    req.onerror = () => resolve(null);
    req.onblocked = () => resolve(null);
  });
  return opening;
}

async function run<T>(
  store: string,
  mode: IDBTransactionMode,
  op: (s: IDBObjectStore) => IDBRequest<T> | undefined,
): Promise<T | undefined> {
  const d = await db();
  if (!d) return undefined;
  return new Promise((resolve) => {
    const tx = d.transaction(store, mode);
    const req = op(tx.objectStore(store));
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => resolve(undefined);
    tx.onabort = () => resolve(undefined);
  });
}

export const outbox = {
  put: (item: OutboxItem) => run(OUTBOX, 'readwrite', (s) => void s.put(item)),
  remove: (clientId: string) => run(OUTBOX, 'readwrite', (s) => void s.delete(clientId)),
  async of(userId: string): Promise<OutboxItem[]> {
    const all = (await run<OutboxItem[]>(OUTBOX, 'readonly', (s) => s.getAll() as IDBRequest<OutboxItem[]>)) ?? [];
    return all.filter((i) => i.userId === userId).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  },
};

/**
 * Drafts by conversation: read synchronously by the composer from memory, loaded from IndexedDB
 * once per page (`loaded`), written through on every change (one small put per keystroke, in order,
 * so the newest text is what a reload finds).
 */
class Drafts {
  private readonly memory = new Map<string, string>();
  readonly loaded: Promise<void>;

  constructor() {
    this.loaded = (async () => {
      const d = await db();
      if (!d) return;
      await new Promise<void>((resolve) => {
        const tx = d.transaction(DRAFTS, 'readonly');
        const req = tx.objectStore(DRAFTS).openCursor();
        req.onsuccess = () => {
          const cursor = req.result;
          if (!cursor) return;
          if (typeof cursor.value === 'string' && !this.memory.has(String(cursor.key)))
            this.memory.set(String(cursor.key), cursor.value);
          cursor.continue();
        };
        tx.oncomplete = () => resolve();
        tx.onerror = () => resolve();
      });
    })();
  }

  get(conversationId: string) {
    return this.memory.get(conversationId);
  }

  set(conversationId: string, text: string) {
    if ((this.memory.get(conversationId) ?? '') === text) return;
    if (text) this.memory.set(conversationId, text);
    else this.memory.delete(conversationId);
    void run(DRAFTS, 'readwrite', (s) => void (text ? s.put(text, conversationId) : s.delete(conversationId)));
  }

  async clear() {
    this.memory.clear();
    await run(DRAFTS, 'readwrite', (s) => void s.clear());
  }
}

export const drafts = new Drafts();

/** Signing out leaves no unsent writing on the device (and no account to open offline). */
export async function clearOfflineData() {
  forgetUser();
  await drafts.clear();
  await run(OUTBOX, 'readwrite', (s) => void s.clear());
}

const LAST_USER = 'parley.lastUser';
type RememberedUser = { id: string; email: string; displayName: string; createdAt: string };

/** The signed-in account, so that the app opens offline (with the offline banner) instead of the sign-in page. */
export function rememberUser(user: RememberedUser) {
  try {
    localStorage.setItem(
      LAST_USER,
      JSON.stringify({ id: user.id, email: user.email, displayName: user.displayName, createdAt: user.createdAt }),
    );
  } catch {
    // storage off
  }
}

export function forgetUser() {
  try {
    localStorage.removeItem(LAST_USER);
  } catch {
    // storage off
  }
}

/**
 * Offline only (the server cannot be reached at all, whatever navigator.onLine says): the account
 * last signed in here. When the server answers, it decides.
 */
export async function offlineUser<T extends RememberedUser>(): Promise<T | null> {
  const reachable = await fetch('/healthz', { cache: 'no-store' }).then(
    () => true,
    () => false,
  );
  if (reachable) return null;
  try {
    const raw = localStorage.getItem(LAST_USER);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}
