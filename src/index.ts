// The relay Worker: cheap validation at the edge, then the room's Durable
// Object. It never parses frame payloads (they are end-to-end encrypted).
// Imports go one way: the Worker (src/) uses the Durable Object side
// (durable-objects/), never the reverse (test/support/relay-layers.test.ts).
import { Hono } from "hono";
import { PROTOCOL_VERSION } from "@airlock/protocol";
import { limitsFrom } from "../durable-objects/config.ts";
import { isRoomId, parseRoomPath } from "../durable-objects/paths.ts";
import { pushConfigFrom, vapidReady } from "../durable-objects/push-config.ts";
import { RELAY_VERSION, type Env } from "./config.ts";
import { admissionFrom, roomAllowed } from "./admission.ts";

export { Room } from "../durable-objects/room.ts";

const app = new Hono<{ Bindings: Env }>();

// Hono matches routes on the percent-decoded path; anything downstream that
// reads the raw URL would see another spelling. None of our paths needs an
// escape, so a raw path that is not already canonical is refused outright.
app.use("*", async (c, next) => {
  if (new URL(c.req.url).pathname.includes("%")) {
    return c.json({ error: "BAD_PATH", message: "percent-encoded paths are not accepted" }, 400);
  }
  await next();
});

app.get("/health", (c) => c.json({ ok: true }));

app.get("/v1/info", async (c) => {
  // Push is published only when the relay can send: a VAPID key pair that belongs together and a subject.
  const push = pushConfigFrom(c.env);
  const vapidPublicKey = push && (await vapidReady(push)) ? push.vapid.publicKey : undefined;
  return c.json({
    name: "airlock-relay",
    version: RELAY_VERSION,
    protocol: PROTOCOL_VERSION,
    time: Date.now(),
    limits: limitsFrom(c.env),
    // "open": any host may open a room; "allowlist": only the rooms in ALLOWED_ROOMS (src/admission.ts).
    admission: admissionFrom(c.env).mode,
    ...(vapidPublicKey ? { push: { vapidPublicKey } } : {}),
  });
});

app.all("/v1/rooms/:room/:role", async (c) => {
  const { room, role } = c.req.param();
  const debug = role === "debug" && c.env.AIRLOCK_DEBUG === "1";
  if (role !== "host" && role !== "device" && !debug) return c.json({ error: "NOT_FOUND", message: "unknown route" }, 404);
  // Any other method would reach the room and fail there (workerd upgrades only GET).
  if (c.req.method !== "GET") {
    return c.json({ error: "METHOD_NOT_ALLOWED", message: "only GET is allowed" }, 405, { Allow: "GET" });
  }
  if (!isRoomId(room)) return c.json({ error: "BAD_ROOM", message: "room id must be 22 base64url characters" }, 400);
  // The Durable Object re-parses the raw path; it must be exactly what was validated.
  if (parseRoomPath(new URL(c.req.url).pathname)?.room !== room) {
    return c.json({ error: "BAD_PATH", message: "path is not in canonical form" }, 400);
  }
  const admission = admissionFrom(c.env);
  if (admission.invalid) console.error("ALLOWED_ROOMS holds entries that are not room ids; no room is served:", admission.invalid.join(", "));
  if (!roomAllowed(admission, room)) {
    return c.json({ error: "ROOM_NOT_ALLOWED", message: "this relay serves only the rooms its operator listed (ALLOWED_ROOMS)" }, 403);
  }
  if (debug) return c.env.ROOMS.getByName(room).fetch(c.req.raw);
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return c.json({ error: "UPGRADE_REQUIRED", message: "this route only accepts WebSocket upgrades" }, 426);
  }
  // Only now is the room's Durable Object touched.
  return c.env.ROOMS.getByName(room).fetch(c.req.raw);
});

app.notFound((c) => c.json({ error: "NOT_FOUND", message: "unknown route" }, 404));
app.onError((err, c) => {
  console.error("relay error", err instanceof Error ? err.message : String(err));
  return c.json({ error: "INTERNAL", message: "internal error" }, 500);
});

export default app;
