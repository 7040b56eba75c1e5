/** Listeners keyed by user id: what every per-user fan-out on this instance is built on. */
export class UserListeners<T> {
  private readonly byUser = new Map<string, Set<(value: T) => void>>();

  add(userId: string, listener: (value: T) => void): () => void {
    let set = this.byUser.get(userId);
    if (!set) {
      set = new Set();
      this.byUser.set(userId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.byUser.delete(userId);
    };
  }

  deliver(userIds: Iterable<string>, value: T) {
    for (const userId of userIds) {
      const set = this.byUser.get(userId);
      if (set) for (const listener of set) listener(value);
    }
  }
}
