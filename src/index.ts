// The relay Worker: cheap validation at the edge, then the room's Durable
// Object. It never parses frame payloads (they are end-to-end encrypted).
import { Hono } from "hono";
import { fromBase64Url, PROTOCOL_VERSION, ROOM_ID_LENGTH } from "@airlock/protocol";
import { limitsFrom, RELAY_VERSION, type Env } from "./config.ts";

export { Room } from "../durable-objects/room.ts";

const app = new Hono<{ Bindings: Env }>();

/** Room ids are 16 bytes as 22 base64url characters (identity.ts). */
function isRoomId(room: string): boolean {
  return room.length === 22 && fromBase64Url(room)?.length === ROOM_ID_LENGTH;
}

app.get("/health", (c) => c.json({ ok: true }));

app.get("/v1/info", (c) =>
  c.json({
    name: "airlock-relay",
    version: RELAY_VERSION,
    protocol: PROTOCOL_VERSION,
    time: Date.now(),
    limits: limitsFrom(c.env),
  }),
);

app.get("/v1/rooms/:room/:role", async (c) => {
  const { room, role } = c.req.param();
  if (role === "debug" && c.env.AIRLOCK_DEBUG === "1" && isRoomId(room)) {
    return c.env.ROOMS.getByName(room).fetch(c.req.raw);
  }
  if (role !== "host" && role !== "device") return c.json({ error: "NOT_FOUND", message: "unknown route" }, 404);
  if (!isRoomId(room)) return c.json({ error: "BAD_ROOM", message: "room id must be 22 base64url characters" }, 400);
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
