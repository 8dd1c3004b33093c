// @airlock/protocol: the only place in Airlock that knows bytes and keys.
export * from "./bytes.ts";
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./header.ts";
export * from "./backend.ts";
export { nobleBackend } from "./backend-noble.ts";
export * from "./hash.ts";
export * from "./identity.ts";
export * from "./signatures.ts";
export * from "./link.ts";
export * from "./handshake-messages.ts";
export * from "./handshake.ts";
export * from "./pairing.ts";
export * from "./padding.ts";
export * from "./nonce.ts";
export * from "./channel.ts";
export * from "./session.ts";
export * from "./app-envelope.ts";
