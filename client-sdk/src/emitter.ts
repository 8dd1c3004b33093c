// A minimal typed event emitter: on() returns its own unsubscribe function, and
// a listener that throws never breaks delivery to the others (or the SDK).
export class Emitter<Events extends Record<string, unknown>> {
  #listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => {
      set.delete(listener as (payload: never) => void);
    };
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch (e) {
        // A UI bug must not take the connection down; surface it asynchronously.
        setTimeout(() => {
          throw e;
        }, 0);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
