// The room's settings: relay limits read from Worker vars (wrangler.toml
// [vars]) with safe defaults, and the fixed budgets of a room. Invalid values
// fall back to the default rather than fail open. The Worker reads the same
// limits for GET /v1/info.
import type { RelayLimits } from "@airlock/protocol";
import type { PushEnv } from "./push-config.ts";

/** The bindings and vars a Room reads (the Worker's Env is a superset: src/config.ts). */
export interface RoomEnv extends PushEnv, LimitsEnv {
  ROOMS: DurableObjectNamespace;
}

export interface LimitsEnv {
  MAX_FRAME_BYTES?: string;
  MAX_DEVICES?: string;
  MAX_PENDING_TICKETS?: string;
  AUTH_TIMEOUT_MS?: string;
  IDLE_TIMEOUT_MS?: string;
  RATE_LIMIT_FRAMES_PER_SECOND?: string;
  RATE_LIMIT_BURST?: string;
}

/**
 * Unauthenticated sockets a room keeps waiting for AUTH, per route, in total
 * and per client address (CF-Connecting-IP; IPv6 by /64). Each route has its
 * own budget, so device upgrades can never push out a host that is answering
 * its CHALLENGE. A new socket beyond its address's cap pushes out that
 * address's own oldest; beyond the route's total, the oldest socket of the
 * address holding the most goes (4009). So a flood from one address only ever
 * evicts its own sockets. A host needs one pending socket for one round trip;
 * several devices may share an address (NAT), hence the larger device cap.
 */
export const PENDING_LIMITS = {
  host: { total: 8, perAddress: 2 },
  device: { total: 16, perAddress: 8 },
} as const;
/** Failed authentications per room per minute before new attempts are refused. */
export const MAX_AUTH_FAILURES_PER_MINUTE = 30;
/** Longest a host may ask the relay to keep a pairing ticket. */
export const MAX_TICKET_TTL_MS = 60 * 60 * 1000;

function int(value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) return fallback;
  const n = Number(value);
  return n >= min && n <= max ? n : fallback;
}

export function limitsFrom(env: LimitsEnv): RelayLimits {
  return {
    maxFrameBytes: int(env.MAX_FRAME_BYTES, 1024 * 1024, 1024, 1024 * 1024),
    maxDevices: int(env.MAX_DEVICES, 16, 1, 1024),
    maxPendingTickets: int(env.MAX_PENDING_TICKETS, 8, 1, 64),
    authTimeoutMs: int(env.AUTH_TIMEOUT_MS, 10_000, 500, 120_000),
    idleTimeoutMs: int(env.IDLE_TIMEOUT_MS, 90_000, 1_000, 3_600_000),
    rateLimit: {
      framesPerSecond: int(env.RATE_LIMIT_FRAMES_PER_SECOND, 4000, 1, 1_000_000),
      burst: int(env.RATE_LIMIT_BURST, 8000, 1, 1_000_000),
    },
  };
}
