// One Room per host: admits the host and its devices, forwards end-to-end
// frames between them by slot, and polices counters, sizes and rates. It can
// read nothing but frame headers.
//
// Lifecycle: sockets use the Hibernation API. Everything a socket needs
// (role, counters, rate bucket) lives in its attachment, re-serialised after
// every frame, so an evicted instance rebuilds its index lazily from
// ctx.getWebSockets(). Storage holds only what outlives sockets (room id,
// tickets, allowlist, last seen, next slot); it is written only once a host
// has authenticated (or by what a host set up), never for an anonymous
// upgrade, and never on the forwarding path.
import { DurableObject } from "cloudflare:workers";
import {
  AirlockProtocolError,
  allowlistExpiryMessage,
  allowlistMessage,
  CHALLENGE_LENGTH,
  decodeClientMessage,
  decodeHeader,
  encodeControl,
  frameBody,
  fromBase64Url,
  isEndToEndType,
  MAX_PUSH_BODY_BYTES,
  relayAuthMessage,
  RelayClose,
  RelayFrame,
  roomIdFor,
  setFrameSlot,
  sha256,
  SignaturePurpose,
  toBase64Url,
  verifyWithPurpose,
  type ConnectedDevice,
  type FrameHeader,
  type HostCommand,
  type RelayCloseCode,
  type RelayLimits,
} from "@airlock/protocol";
import { webCryptoBackend } from "@airlock/protocol/webcrypto";
import { vapidAuthorization } from "@airlock/protocol/web-push";
import { limitsFrom, MAX_AUTH_FAILURES_PER_MINUTE, MAX_TICKET_TTL_MS, PENDING_LIMITS, type RoomEnv } from "./config.ts";
import { clientAddress, parseRoomPath } from "./paths.ts";
import { PUSH_JWT_LIFETIME_S, PUSH_JWT_REUSE_MS, pushConfigFrom, pushOriginAllowed, vapidReady, type PushConfig } from "./push-config.ts";
import { fullBucket, take, type Bucket } from "./token-bucket.ts";

type Role = "host" | "device";

interface PendingConn {
  kind: "pending";
  role: Role;
  /** The validated room id of the request (kept here: nothing unauthenticated goes to storage). */
  room: string;
  /** Client address key (paths.ts clientAddress), for the per-address pending cap. */
  addr: string;
  challenge: string;
  deadline: number;
  since: number;
  bucket: Bucket;
}

interface HostConn {
  kind: "host";
  key: string;
  since: number;
  lastActive: number;
  bucket: Bucket;
  /** Next expected host→device counter, per device slot. */
  counters: Record<number, bigint>;
}

interface DeviceConn {
  kind: "device";
  slot: number;
  key: string;
  via: "ticket" | "allowlist";
  since: number;
  lastActive: number;
  bucket: Bucket;
  /** Next expected device→host counter. */
  next: bigint;
  /** Unix ms after which the host's allowlist no longer admits this key (automation tokens). */
  expiresAt?: number;
}

type Conn = PendingConn | HostConn | DeviceConn;

interface Allowlist {
  version: number;
  keys: string[];
  /** Parallel to keys: unix ms after which the key is refused, 0 = never (absent: none expires). */
  expires?: number[];
}

/** When the allowlist stops admitting `key`: undefined when it is not on the list, 0 when it never expires. */
function allowlistExpiry(list: Allowlist, key: string): number | undefined {
  const i = list.keys.indexOf(key);
  if (i < 0) return undefined;
  return list.expires?.[i] ?? 0;
}

/** In-memory view of the sockets, rebuilt from attachments after eviction. */
interface Index {
  conns: Map<WebSocket, Conn>;
  host: WebSocket | undefined;
  slots: Map<number, WebSocket>;
}

type PushCommand = Extract<HostCommand, { op: "push.send" }>;
type ResultBody = { id: string; ok: boolean; error?: string; status?: number; retryAfter?: number };

/** RFC 9110 Retry-After (delta-seconds or an HTTP-date) as seconds from now, clamped to 0..86400. */
function retryAfterSeconds(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  let seconds: number;
  if (/^\d{1,10}$/.test(text)) seconds = Number(text);
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    seconds = Math.ceil((at - now) / 1000);
  }
  return Math.min(86_400, Math.max(0, seconds));
}

const MAX_CLOSE_REASON_BYTES = 123;
const encoder = new TextEncoder();

/** The id of a command body that failed validation, when it has a well-formed one. */
function commandId(body: Uint8Array): string | undefined {
  try {
    const id = (JSON.parse(new TextDecoder().decode(body)) as { id?: unknown }).id;
    return typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function closeReason(text: string): string {
  let reason = text;
  while (encoder.encode(reason).length > MAX_CLOSE_REASON_BYTES) reason = reason.slice(0, -1);
  return reason;
}

export class Room extends DurableObject<RoomEnv> {
  readonly #limits: RelayLimits;
  readonly #instanceId = crypto.randomUUID();
  readonly #constructedAt = Date.now();
  #index?: Index;
  #allowlist?: Allowlist;
  #authFailures: number[] = [];
  readonly #push: PushConfig | undefined;
  /**
   * The room's push rate (token bucket, PUSH_PER_MINUTE / PUSH_BURST). In
   * memory only: an evicted room starts again with a full burst, so the bound
   * is one burst per eviction (a room is only evicted after seconds of
   * quiet), on top of the rate. Nothing about pushes is ever stored.
   */
  #pushBucket?: Bucket;
  /** Signed VAPID headers by audience (push-service origin), reused for PUSH_JWT_REUSE_MS. */
  readonly #vapidHeaders = new Map<string, { header: string; signedAt: number }>();

  constructor(ctx: DurableObjectState, env: RoomEnv) {
    super(ctx, env);
    this.#limits = limitsFrom(env);
    this.#push = pushConfigFrom(env);
    // Keepalives are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // ------------------------------------------------------------ connections

  override async fetch(request: Request): Promise<Response> {
    // Validated again here, on the raw path, and bound to this object's own
    // id: whatever reaches a room, it can only ever serve the one name it was
    // created for.
    const route = parseRoomPath(new URL(request.url).pathname);
    if (!route || !this.env.ROOMS.idFromName(route.room).equals(this.ctx.id)) {
      return Response.json({ error: "BAD_ROOM", message: "not this room's path" }, { status: 400 });
    }
    if (route.role === "debug") return Response.json(await this.#debug());
    if (request.method !== "GET" || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ error: "UPGRADE_REQUIRED", message: "WebSocket GET only" }, { status: 426 });
    }
    const { room, role } = route;
    const addr = clientAddress(request.headers.get("CF-Connecting-IP"));

    const now = Date.now();
    this.#authFailures = this.#authFailures.filter((t) => now - t < 60_000);
    // Only device connections are refused: whoever fails logins must never be
    // able to keep the real host from reconnecting.
    if (role === "device" && this.#authFailures.length >= MAX_AUTH_FAILURES_PER_MINUTE) {
      return Response.json({ error: "RATE_LIMITED", message: "too many failed authentications; retry later" }, { status: 429 });
    }

    this.#freePendingPlace(role, addr);

    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [role]);
    const challenge = crypto.getRandomValues(new Uint8Array(CHALLENGE_LENGTH));
    const conn: PendingConn = {
      kind: "pending",
      role,
      room,
      addr,
      challenge: toBase64Url(challenge),
      deadline: now + this.#limits.authTimeoutMs,
      since: now,
      bucket: fullBucket(this.#limits.rateLimit.burst, now),
    };
    this.#save(server, conn);
    this.#send(server, encodeControl(RelayFrame.CHALLENGE, { v: 1, role, room, challenge: conn.challenge, time: now, limits: this.#limits }));
    await this.#scheduleAlarm(conn.deadline);
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * Frees a place for a new unauthenticated socket (limits in config.ts
   * PENDING_LIMITS): per route, the address's own oldest beyond its cap, else
   * beyond the route's total the oldest of the address holding the most.
   */
  #freePendingPlace(role: Role, addr: string): void {
    const limits = PENDING_LIMITS[role];
    const byAddr = new Map<string, Array<[WebSocket, PendingConn]>>();
    let total = 0;
    for (const [ws, c] of this.#state().conns) {
      if (c.kind !== "pending" || c.role !== role) continue;
      const list = byAddr.get(c.addr) ?? [];
      list.push([ws, c]);
      byAddr.set(c.addr, list);
      total++;
    }
    let victims = byAddr.get(addr) ?? [];
    if (victims.length < limits.perAddress) {
      if (total < limits.total) return;
      for (const list of byAddr.values()) if (list.length > victims.length) victims = list;
    }
    const oldest = victims.reduce((a, b) => (b[1].since < a[1].since ? b : a));
    this.#drop(oldest[0], RelayClose.ROOM_FULL, "too many unauthenticated connections");
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.#state().conns.get(ws);
    if (!conn) return this.#drop(ws, RelayClose.PROTOCOL_ERROR, "unknown connection");
    if (typeof message === "string") {
      return this.#drop(ws, RelayClose.FRAME_INVALID, 'text messages are not allowed (send "ping" to keep alive)');
    }
    const now = Date.now();
    if (message.byteLength > this.#limits.maxFrameBytes) {
      return this.#drop(ws, RelayClose.FRAME_TOO_LARGE, `frame larger than ${this.#limits.maxFrameBytes} bytes`);
    }
    if (!take(conn.bucket, this.#limits.rateLimit.framesPerSecond, this.#limits.rateLimit.burst, now)) {
      return this.#drop(ws, RelayClose.RATE_LIMITED, "rate limit exceeded");
    }
    const frame = new Uint8Array(message);
    let header: FrameHeader;
    try {
      header = decodeHeader(frame, this.#limits.maxFrameBytes);
    } catch (e) {
      return this.#drop(ws, RelayClose.FRAME_INVALID, e instanceof Error ? e.message : "bad frame");
    }

    switch (conn.kind) {
      case "pending":
        if (header.type !== RelayFrame.AUTH) return this.#drop(ws, RelayClose.AUTH_FAILED, "authenticate first");
        return this.#authenticate(ws, conn, frameBody(frame));
      case "host":
        conn.lastActive = now;
        if (isEndToEndType(header.type)) return this.#fromHost(ws, conn, header, frame);
        if (header.type === RelayFrame.COMMAND) {
          this.#save(ws, conn);
          return this.#command(ws, conn, frameBody(frame));
        }
        return this.#drop(ws, RelayClose.FRAME_INVALID, `frame type ${header.type} not allowed from a host`);
      case "device":
        conn.lastActive = now;
        if (conn.expiresAt !== undefined && conn.expiresAt <= now) return this.#drop(ws, RelayClose.REVOKED, "device key expired");
        if (isEndToEndType(header.type)) return this.#fromDevice(ws, conn, header, frame);
        return this.#drop(ws, RelayClose.FRAME_INVALID, `frame type ${header.type} not allowed from a device`);
    }
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    await this.#forget(ws);
    this.#closeSocket(ws, RelayClose.NORMAL, "closed");
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.#forget(ws);
  }

  /** Auth deadlines, idle sockets, expired tickets. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const index = this.#state();
    let nextDeadline = Infinity;
    for (const [ws, conn] of [...index.conns]) {
      if (conn.kind === "pending") {
        if (conn.deadline <= now) this.#drop(ws, RelayClose.AUTH_TIMEOUT, "authentication deadline passed");
        else nextDeadline = Math.min(nextDeadline, conn.deadline);
        continue;
      }
      if (conn.kind === "device" && conn.expiresAt !== undefined) {
        if (conn.expiresAt <= now) {
          this.#drop(ws, RelayClose.REVOKED, "device key expired");
          continue;
        }
        nextDeadline = Math.min(nextDeadline, conn.expiresAt);
      }
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      if (now - Math.max(conn.lastActive, pinged) > this.#limits.idleTimeoutMs) {
        this.#drop(ws, RelayClose.IDLE, "idle: no frame or ping in time");
      }
    }
    await this.#purgeTickets(now);
    if (index.conns.size > 0) {
      // Idle checks run once per idle timeout (an idle socket goes within two), so a
      // quiet room wakes rarely and otherwise stays hibernated.
      await this.ctx.storage.setAlarm(Math.min(nextDeadline, now + this.#limits.idleTimeoutMs));
    }
  }

  // ------------------------------------------------------------ admission

  async #authenticate(ws: WebSocket, conn: PendingConn, body: Uint8Array): Promise<void> {
    const room = conn.room;
    let auth;
    try {
      auth = decodeClientMessage(RelayFrame.AUTH, body);
    } catch (e) {
      return this.#authFailed(ws, e instanceof AirlockProtocolError ? e.message : "bad auth message");
    }
    const key = fromBase64Url(auth.key)!;
    const message = relayAuthMessage(fromBase64Url(room)!, fromBase64Url(conn.challenge)!);
    const purpose = conn.role === "host" ? SignaturePurpose.RELAY_HOST_AUTH : SignaturePurpose.RELAY_DEVICE_AUTH;
    if (conn.role === "host") {
      if (auth.ticket !== undefined) return this.#authFailed(ws, "hosts do not use tickets");
      if (roomIdFor(key) !== room) return this.#authFailed(ws, "key does not own this room");
    }
    if (!(await verifyWithPurpose(webCryptoBackend, key, purpose, message, fromBase64Url(auth.sig)!))) {
      return this.#authFailed(ws, "bad signature");
    }
    // Another event may have run while we verified: only a still-pending socket proceeds.
    if (this.#state().conns.get(ws) !== conn) return;
    if (conn.role === "host") return this.#admitHost(ws, conn, auth.key, room);
    return this.#admitDevice(ws, conn, auth.key, auth.ticket);
  }

  async #admitHost(ws: WebSocket, conn: PendingConn, key: string, room: string): Promise<void> {
    const allowlist = await this.#loadAllowlist();
    // The first thing a room ever stores, now that its owner has proved itself
    // (this also heals a room id stored by an older relay from an aliased URL).
    if ((await this.#room()) !== room) {
      await this.ctx.storage.put("room", room);
      this.#roomId = room;
    }
    if (this.#state().conns.get(ws) !== conn) return;
    const index = this.#state();
    // The new host session replaces the old one; devices must handshake again with it.
    if (index.host && index.host !== ws) this.#drop(index.host, RelayClose.REPLACED, "another host connection authenticated");
    for (const device of [...index.slots.values()]) this.#drop(device, RelayClose.HOST_RESTARTED, "host reconnected; reconnect");
    const now = Date.now();
    const host: HostConn = { kind: "host", key, since: now, lastActive: now, bucket: conn.bucket, counters: {} };
    this.#save(ws, host);
    const devices: ConnectedDevice[] = [];
    this.#send(ws, encodeControl(RelayFrame.WELCOME, { role: "host", devices, allowlistVersion: allowlist.version }));
  }

  async #admitDevice(ws: WebSocket, conn: PendingConn, key: string, ticket: string | undefined): Promise<void> {
    let via: DeviceConn["via"];
    let expiresAt = 0;
    if (ticket !== undefined) {
      if (!(await this.#redeemTicket(fromBase64Url(ticket)!))) return this.#authFailed(ws, "pairing ticket unknown, used or expired");
      via = "ticket";
    } else {
      const list = await this.#loadAllowlist();
      const expiry = allowlistExpiry(list, key);
      if (expiry === undefined) return this.#authFailed(ws, "device not allowed by the host");
      // An expired key stays out even while its host is offline and cannot say so.
      if (expiry !== 0 && expiry <= Date.now()) return this.#authFailed(ws, "device key expired");
      expiresAt = expiry;
      via = "allowlist";
    }
    if (this.#state().conns.get(ws) !== conn) return;
    if (this.#state().slots.size >= this.#limits.maxDevices) return this.#drop(ws, RelayClose.ROOM_FULL, "too many devices");
    const slot = await this.#allocateSlot();
    const now = Date.now();
    const device: DeviceConn = {
      kind: "device",
      slot,
      key,
      via,
      since: now,
      lastActive: now,
      bucket: conn.bucket,
      next: 0n,
      ...(expiresAt ? { expiresAt } : {}),
    };
    this.#save(ws, device);
    // The alarm closes the connection when the key expires, even if it sends nothing.
    if (expiresAt) await this.#alarmBy(expiresAt);
    const host = this.#state().host;
    const lastSeen = (await this.ctx.storage.get<number>("lastSeen")) ?? undefined;
    this.#send(
      ws,
      encodeControl(RelayFrame.WELCOME, {
        role: "device",
        slot,
        host: host ? { online: true } : { online: false, ...(lastSeen !== undefined ? { lastSeen } : {}) },
      }),
    );
    if (host) this.#send(host, encodeControl(RelayFrame.PRESENCE, { device: "joined", slot, key, via }));
  }

  /** Makes sure the alarm runs no later than `at`. */
  async #alarmBy(at: number): Promise<void> {
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > at) await this.ctx.storage.setAlarm(at);
  }

  #authFailed(ws: WebSocket, reason: string): void {
    // Only device failures count toward the device lockout (hosts are never locked out).
    if (this.#state().conns.get(ws)?.kind === "pending" && (this.#state().conns.get(ws) as PendingConn).role === "device") {
      this.#authFailures.push(Date.now());
    }
    this.#drop(ws, RelayClose.AUTH_FAILED, reason);
  }

  async #redeemTicket(ticket: Uint8Array): Promise<boolean> {
    const hash = toBase64Url(sha256(ticket));
    const tickets = (await this.ctx.storage.get<Record<string, number>>("tickets")) ?? {};
    const expiresAt = tickets[hash];
    if (expiresAt === undefined) return false;
    delete tickets[hash]; // single use, also when expired
    await this.ctx.storage.put("tickets", tickets);
    return expiresAt > Date.now();
  }

  async #allocateSlot(): Promise<number> {
    // Slots only move forward (wrapping at 65535, skipping live ones), so a late
    // host frame for a departed device can never reach a newcomer.
    const used = this.#state().slots;
    let slot = (await this.ctx.storage.get<number>("nextSlot")) ?? 1;
    while (used.has(slot)) slot = slot >= 0xffff ? 1 : slot + 1;
    await this.ctx.storage.put("nextSlot", slot >= 0xffff ? 1 : slot + 1);
    return slot;
  }

  // ------------------------------------------------------------ forwarding

  #fromHost(ws: WebSocket, conn: HostConn, header: FrameHeader, frame: Uint8Array): void {
    const target = this.#state().slots.get(header.slot);
    if (!target) {
      this.#save(ws, conn); // the device left; its frames are dropped
      return;
    }
    const expected = conn.counters[header.slot] ?? 0n;
    if (header.counter !== expected) {
      return this.#drop(ws, RelayClose.COUNTER_VIOLATION, `slot ${header.slot}: expected counter ${expected}, got ${header.counter}`);
    }
    conn.counters[header.slot] = expected + 1n;
    this.#save(ws, conn);
    this.#send(target, frame);
  }

  #fromDevice(ws: WebSocket, conn: DeviceConn, header: FrameHeader, frame: Uint8Array): void {
    if (header.counter !== conn.next) {
      return this.#drop(ws, RelayClose.COUNTER_VIOLATION, `expected counter ${conn.next}, got ${header.counter}`);
    }
    conn.next += 1n;
    this.#save(ws, conn);
    const host = this.#state().host;
    if (!host) return; // host offline: devices know from presence; nothing is queued
    setFrameSlot(frame, conn.slot); // stamp the authenticated slot: devices cannot spoof each other
    this.#send(host, frame);
  }

  // ------------------------------------------------------------ host commands

  async #command(ws: WebSocket, host: HostConn, body: Uint8Array): Promise<void> {
    let command: HostCommand;
    try {
      command = decodeClientMessage(RelayFrame.COMMAND, body);
    } catch (e) {
      const message = (e as Error).message.slice(0, 256);
      // Answer the command by id when one can be read, so the host does not wait for a RESULT.
      const id = commandId(body);
      if (id) this.#send(ws, encodeControl(RelayFrame.RESULT, { id, ok: false, error: message }));
      else this.#send(ws, encodeControl(RelayFrame.NOTICE, { code: "BAD_COMMAND", message }));
      return;
    }
    const result = (error?: string) =>
      this.#send(ws, encodeControl(RelayFrame.RESULT, { id: command.id, ok: error === undefined, ...(error ? { error } : {}) }));
    switch (command.op) {
      case "ticket.add": {
        const now = Date.now();
        if (command.expiresAt <= now || command.expiresAt > now + MAX_TICKET_TTL_MS) return result("expiry out of range");
        const tickets = await this.#purgeTickets(now);
        if (Object.keys(tickets).length >= this.#limits.maxPendingTickets) return result("too many pending tickets");
        tickets[command.hash] = command.expiresAt;
        await this.ctx.storage.put("tickets", tickets);
        return result();
      }
      case "allowlist.set": {
        const current = await this.#loadAllowlist();
        if (command.version <= current.version) return result(`stale version (current ${current.version})`);
        if (new Set(command.keys).size !== command.keys.length) return result("duplicate keys");
        if (command.expires !== undefined && command.expires.length !== command.keys.length) return result("one expiry per key");
        const room = fromBase64Url(await this.#room())!;
        const keyBytes = command.keys.map((k) => fromBase64Url(k)!);
        const [purpose, message] =
          command.expires === undefined
            ? [SignaturePurpose.DEVICE_ALLOWLIST, allowlistMessage(room, command.version, keyBytes)]
            : [SignaturePurpose.DEVICE_ALLOWLIST_EXPIRY, allowlistExpiryMessage(room, command.version, keyBytes, command.expires)];
        const ok = await verifyWithPurpose(webCryptoBackend, fromBase64Url(host.key)!, purpose, message, fromBase64Url(command.sig)!);
        if (!ok) return result("bad allowlist signature");
        const list: Allowlist = { version: command.version, keys: command.keys, ...(command.expires ? { expires: command.expires } : {}) };
        await this.ctx.storage.put("allowlist", list);
        this.#allowlist = list;
        // Revocation takes effect at once for devices admitted by the allowlist; an expiry moved earlier does too.
        const now = Date.now();
        for (const [ws2, conn] of [...this.#state().conns]) {
          if (conn.kind !== "device" || conn.via !== "allowlist") continue;
          const expiry = allowlistExpiry(list, conn.key);
          if (expiry === undefined) this.#drop(ws2, RelayClose.REVOKED, "device revoked by the host");
          else if (expiry !== 0 && expiry <= now) this.#drop(ws2, RelayClose.REVOKED, "device key expired");
          else if ((conn.expiresAt ?? 0) !== expiry) {
            const { expiresAt: _previous, ...rest } = conn;
            this.#save(ws2, expiry ? { ...rest, expiresAt: expiry } : rest);
            if (expiry) await this.#alarmBy(expiry);
          }
        }
        return result();
      }
      case "device.kick": {
        if (command.key === undefined && command.slot === undefined) return result("name a key or a slot");
        for (const [ws2, conn] of [...this.#state().conns]) {
          if (conn.kind !== "device") continue;
          if (command.key !== undefined && conn.key === command.key) this.#drop(ws2, RelayClose.REVOKED, "device revoked by the host");
          else if (command.slot !== undefined && conn.slot === command.slot) this.#drop(ws2, RelayClose.KICKED, "disconnected by the host");
        }
        return result();
      }
      case "push.send": {
        // The POST can take seconds: answer it on its own, so frames keep flowing meanwhile.
        const sending = this.#pushSend(command).then(
          (answer) => this.#send(ws, encodeControl(RelayFrame.RESULT, { id: command.id, ...answer })),
          () => this.#send(ws, encodeControl(RelayFrame.RESULT, { id: command.id, ok: false, error: "push failed in the relay" })),
        );
        this.ctx.waitUntil(sending);
        return;
      }
    }
  }

  // ------------------------------------------------------------ push (docs/protocol.md §9.4)

  /**
   * Delivers a body the host already encrypted (RFC 8291) to a push service
   * on the allowlist, with the relay's VAPID authorization. Blind: the relay
   * cannot read the body, keeps nothing about the subscription and never logs
   * the endpoint or the body. Answers with the push service's status.
   */
  async #pushSend(command: PushCommand): Promise<Omit<ResultBody, "id">> {
    const config = this.#push;
    if (!config || !(await vapidReady(config))) return { ok: false, error: "push is not configured on this relay" };
    let url: URL;
    try {
      url = new URL(command.endpoint);
    } catch {
      return { ok: false, error: "endpoint is not a URL" };
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, error: "endpoint must be an https URL" };
    if (url.username !== "" || url.password !== "") return { ok: false, error: "endpoint must not carry credentials" };
    if (url.hash !== "") return { ok: false, error: "endpoint must not have a fragment" };
    if (!pushOriginAllowed(url, config.origins)) return { ok: false, error: "endpoint is not on a push service this relay allows" };
    const body = fromBase64Url(command.body);
    if (!body || body.length === 0) return { ok: false, error: "body is not base64url" };
    if (body.length > MAX_PUSH_BODY_BYTES) return { ok: false, error: `body is over ${MAX_PUSH_BODY_BYTES} bytes` };

    const now = Date.now();
    const rate = config.perMinute / 60;
    this.#pushBucket ??= fullBucket(config.burst, now);
    if (!take(this.#pushBucket, rate, config.burst, now)) {
      const wait = Math.ceil((1 - this.#pushBucket.tokens) / rate);
      return { ok: false, error: `push rate limit (${config.perMinute} per minute) exceeded`, retryAfter: Math.min(86_400, Math.max(1, wait)) };
    }

    const headers: Record<string, string> = {
      TTL: String(command.ttl),
      Urgency: command.urgency,
      "Content-Encoding": "aes128gcm",
      "Content-Type": "application/octet-stream",
      Authorization: await this.#vapidHeader(config, url.origin, now),
    };
    if (command.topic !== undefined) headers.Topic = command.topic;
    let res: Response;
    try {
      res = await fetch(url.href, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(config.timeoutMs) });
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
      return { ok: false, error: timedOut ? `push service did not answer within ${config.timeoutMs / 1000} s` : "push service unreachable" };
    }
    // Nothing of the answer's body is read or passed on.
    try {
      await res.body?.cancel();
    } catch {
      // already consumed or closed
    }
    const status = res.status;
    const retryAfter = status === 429 || status === 503 ? retryAfterSeconds(res.headers.get("Retry-After"), Date.now()) : undefined;
    const ok = status >= 200 && status < 300;
    if (status < 100 || status > 599) return { ok: false, error: "push service gave no valid HTTP status" };
    return {
      ok,
      status,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
      ...(ok ? {} : { error: status >= 300 && status < 400 ? `push service redirected (${status}); not followed` : `push service answered ${status}` }),
    };
  }

  /** "vapid t=…, k=…" for a push-service origin: signed with exp 12 h ahead, reused for up to an hour. */
  async #vapidHeader(config: PushConfig, audience: string, now: number): Promise<string> {
    const hit = this.#vapidHeaders.get(audience);
    if (hit && now - hit.signedAt < PUSH_JWT_REUSE_MS) return hit.header;
    const header = await vapidAuthorization({
      keys: config.vapid,
      audience,
      subject: config.subject,
      expiresAt: Math.floor(now / 1000) + PUSH_JWT_LIFETIME_S,
    });
    if (this.#vapidHeaders.size >= 16) this.#vapidHeaders.clear();
    this.#vapidHeaders.set(audience, { header, signedAt: now });
    return header;
  }

  // ------------------------------------------------------------ state

  #state(): Index {
    if (this.#index) return this.#index;
    const index: Index = { conns: new Map(), host: undefined, slots: new Map() };
    for (const ws of this.ctx.getWebSockets()) {
      const conn = ws.deserializeAttachment() as Conn | null;
      if (!conn) continue;
      index.conns.set(ws, conn);
      if (conn.kind === "host") index.host = ws;
      if (conn.kind === "device") index.slots.set(conn.slot, ws);
    }
    this.#index = index;
    return index;
  }

  /** Persists a connection's state in its attachment (survives hibernation) and indexes it. */
  #save(ws: WebSocket, conn: Conn): void {
    ws.serializeAttachment(conn);
    const index = this.#state();
    index.conns.set(ws, conn);
    if (conn.kind === "host") index.host = ws;
    if (conn.kind === "device") index.slots.set(conn.slot, ws);
  }

  /** Bookkeeping for a socket that is gone: presence updates and counters. */
  async #forget(ws: WebSocket): Promise<void> {
    const index = this.#state();
    const conn = index.conns.get(ws);
    if (!conn) return;
    index.conns.delete(ws);
    if (conn.kind === "host" && index.host === ws) {
      index.host = undefined;
      const lastSeen = Date.now();
      for (const device of index.slots.values()) this.#send(device, encodeControl(RelayFrame.PRESENCE, { host: "offline", lastSeen }));
      await this.ctx.storage.put("lastSeen", lastSeen);
    }
    if (conn.kind === "device" && index.slots.get(conn.slot) === ws) {
      index.slots.delete(conn.slot);
      const host = index.host;
      const hostConn = host && index.conns.get(host);
      if (host && hostConn?.kind === "host") {
        delete hostConn.counters[conn.slot];
        this.#save(host, hostConn);
        this.#send(host, encodeControl(RelayFrame.PRESENCE, { device: "left", slot: conn.slot }));
      }
    }
  }

  /** Closes a socket with a documented code, after its bookkeeping. */
  #drop(ws: WebSocket, code: RelayCloseCode, reason: string): void {
    // The runtime keeps a closed socket until its peer answers the close (it
    // may never): clear its attachment so an evicted room does not rebuild it.
    try {
      ws.serializeAttachment(null);
    } catch {
      // already gone
    }
    this.#forget(ws).catch((e: unknown) => console.error("room: bookkeeping failed", e instanceof Error ? e.message : String(e)));
    this.#closeSocket(ws, code, reason);
  }

  #closeSocket(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, closeReason(reason));
    } catch {
      // already closing or closed
    }
  }

  #send(ws: WebSocket, data: Uint8Array): void {
    try {
      ws.send(data);
    } catch {
      // the socket is closing; its close handler does the bookkeeping
    }
  }

  #roomId?: string;

  /** The room id this object serves, stored when its host first authenticated. */
  async #room(): Promise<string> {
    this.#roomId ??= (await this.ctx.storage.get<string>("room")) ?? "";
    return this.#roomId;
  }

  async #loadAllowlist(): Promise<Allowlist> {
    this.#allowlist ??= (await this.ctx.storage.get<Allowlist>("allowlist")) ?? { version: 0, keys: [] };
    return this.#allowlist;
  }

  async #purgeTickets(now: number): Promise<Record<string, number>> {
    const tickets = (await this.ctx.storage.get<Record<string, number>>("tickets")) ?? {};
    let changed = false;
    for (const [hash, expiresAt] of Object.entries(tickets)) {
      if (expiresAt <= now) {
        delete tickets[hash];
        changed = true;
      }
    }
    if (changed) await this.ctx.storage.put("tickets", tickets);
    return tickets;
  }

  async #scheduleAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  async #debug() {
    return {
      instanceId: this.#instanceId,
      constructedAt: this.#constructedAt,
      sockets: [...this.#state().conns.values()].map((c) =>
        c.kind === "device"
          ? { kind: c.kind, slot: c.slot, via: c.via, next: c.next.toString() }
          : c.kind === "host"
            ? { kind: c.kind, counters: Object.fromEntries(Object.entries(c.counters).map(([k, v]) => [k, v.toString()])) }
            : { kind: c.kind, role: c.role, addr: c.addr },
      ),
      /** Stored keys (nothing until a host has authenticated) and the pending alarm. */
      storage: [...(await this.ctx.storage.list({ limit: 100 })).keys()],
      alarm: await this.ctx.storage.getAlarm(),
    };
  }
}
