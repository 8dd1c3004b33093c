// @airlock/client-sdk: pair with Airlock hosts, keep connections to them, and
// drive their coding agents over the end-to-end encrypted channel. Runs in
// browsers, Node ≥20, Workers and React Native: nothing here imports Node
// built-ins (the Node FileStore lives in "@airlock/client-sdk/node").
export * from "./api.ts";
export { AirlockClient } from "./client-web.ts";
// Browsers only (React Native has no IndexedDB): not in "@airlock/client-sdk/native".
export { IndexedDbStore } from "./indexeddb-store.ts";
