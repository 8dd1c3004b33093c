// Browser persistence: one IndexedDB object store of key → structured-clone
// value. CryptoKeys survive the round trip without becoming extractable.
import type { Store } from "./store.ts";

const OBJECT_STORE = "kv";

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB request failed"));
  });
}

/** Resolves when a write transaction has committed (a quota error at commit rejects, not succeeds). */
function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("IndexedDB write failed"));
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB write was aborted"));
  });
}

export class IndexedDbStore implements Store {
  readonly canStoreCryptoKeys = true;
  readonly #name: string;
  #db: Promise<IDBDatabase> | undefined;

  /** `name` is the IndexedDB database name; use one per app (or per user profile). */
  constructor(name = "airlock-client") {
    this.#name = name;
  }

  #open(): Promise<IDBDatabase> {
    if (this.#db) return this.#db;
    const opened = new Promise<IDBDatabase>((resolve, reject) => {
      const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
      if (!idb) return reject(new Error("IndexedDB is not available here; use MemoryStore or a FileStore"));
      const req = idb.open(this.#name, 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(OBJECT_STORE)) req.result.createObjectStore(OBJECT_STORE);
      };
      req.onsuccess = () => {
        const db = req.result;
        // Another page deleting or upgrading the database (an app reset, "clear
        // site data") must not wait on this connection, and a connection the
        // browser closed is unusable: let go of it; the next call reopens.
        const release = () => {
          db.close();
          if (this.#db === opened) this.#db = undefined;
        };
        db.onversionchange = release;
        db.onclose = release;
        resolve(db);
      };
      req.onerror = () => reject(req.error ?? new Error("cannot open IndexedDB"));
    });
    this.#db = opened;
    return opened;
  }

  async #tx(mode: IDBTransactionMode): Promise<IDBObjectStore> {
    return (await this.#open()).transaction(OBJECT_STORE, mode).objectStore(OBJECT_STORE);
  }

  async get(key: string): Promise<unknown> {
    return request((await this.#tx("readonly")).get(key));
  }

  async set(key: string, value: unknown): Promise<void> {
    const store = await this.#tx("readwrite");
    const done = committed(store.transaction);
    store.put(value, key); // throws synchronously for values that cannot be cloned
    await done;
  }

  async delete(key: string): Promise<void> {
    const store = await this.#tx("readwrite");
    const done = committed(store.transaction);
    store.delete(key);
    await done;
  }
}
