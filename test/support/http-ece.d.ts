// Minimal types for http_ece 1.2.1 (Mozilla's aes128gcm reference for Node), used only by tests as an independent implementation.
declare module "http_ece" {
  import type { ECDH } from "node:crypto";
  interface Params {
    version?: "aes128gcm" | "aesgcm";
    key?: Buffer | string;
    keyid?: Buffer | string;
    salt?: Buffer | string;
    rs?: number;
    privateKey?: ECDH;
    dh?: Buffer | string;
    authSecret?: Buffer | string;
  }
  export function encrypt(buffer: Buffer, params: Params): Buffer;
  export function decrypt(buffer: Buffer, params: Params): Buffer;
}
