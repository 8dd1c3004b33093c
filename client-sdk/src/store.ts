// Pluggable persistence for the SDK's small state: the device identity and the
// trusted hosts. Values are plain JSON data, except that a store which says
// `canStoreCryptoKeys` (IndexedDB) also keeps CryptoKey objects, so a browser's
// device key can stay non-extractable.
export interface Store {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  /** True when values may contain CryptoKey objects (structured-clone storage). */
  readonly canStoreCryptoKeys?: boolean;
}

/** Keeps everything in memory: tests, and apps that pair every time. */
export class MemoryStore implements Store {
  readonly canStoreCryptoKeys = true;
  #data = new Map<string, unknown>();

  async get(key: string): Promise<unknown> {
    return this.#data.get(key);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.#data.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#data.delete(key);
  }
}
