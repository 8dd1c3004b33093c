// The Worker's environment and version. The settings a room reads (limits,
// push) are the Durable Object's and live beside it (durable-objects/config.ts,
// durable-objects/push-config.ts); the Worker adds its own bindings and vars.
import type { RoomEnv } from "../durable-objects/config.ts";
import type { AdmissionEnv } from "./admission.ts";

export interface Env extends RoomEnv, AdmissionEnv {
  ASSETS: Fetcher;
  /** "1" exposes GET /v1/rooms/:room/debug (tests only). */
  AIRLOCK_DEBUG?: string;
}

export const RELAY_VERSION = "0.1.0";
