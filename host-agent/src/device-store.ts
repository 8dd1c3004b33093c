// The host's list of trusted devices (devices.json, mode 0600): who paired,
// when, under which name, and the version of the allowlist last published to
// the relay. The host is the only authority on this list.
import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fromBase64Url, isValidDeviceName, sha256, toBase64Url } from "@airlock/protocol";
import { writeFileAtomicSync } from "./durable/durable-file.ts";
import { HostError } from "./host-error.ts";

export interface TrustedDevice {
  /** Short stable id shown to people: "d_" + 10 base64url chars of SHA-256(key). */
  id: string;
  /** The device's Ed25519 public key, base64url. */
  key: string;
  name: string;
  pairedAt: string;
  lastSeen?: string;
}

interface DeviceFile {
  version: 1;
  allowlistVersion: number;
  devices: TrustedDevice[];
}

export type DeviceStoreErrorCode = "DEVICE_NOT_FOUND" | "DEVICE_AMBIGUOUS" | "DEVICES_CORRUPT" | "BAD_NAME";

export class DeviceStoreError extends HostError<DeviceStoreErrorCode> {
  constructor(code: DeviceStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "DeviceStoreError";
  }
}

export function deviceIdFor(key: Uint8Array): string {
  return "d_" + toBase64Url(sha256(key)).slice(0, 10);
}

/** The protocol's one rule for device names (the handshake applies it too); an operator's surrounding spaces are trimmed. */
export function checkDeviceLabel(name: string): string {
  const trimmed = name.trim();
  if (!isValidDeviceName(trimmed)) {
    throw new DeviceStoreError("BAD_NAME", "device names are 1-64 bytes, not only whitespace, without control or bidi characters");
  }
  return trimmed;
}

export class DeviceStore {
  #path: string;
  #file: DeviceFile;

  private constructor(path: string, file: DeviceFile) {
    this.#path = path;
    this.#file = file;
  }

  static open(path: string): DeviceStore {
    let text: string | undefined;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      return new DeviceStore(path, { version: 1, allowlistVersion: 0, devices: [] });
    }
    let file: DeviceFile;
    try {
      file = JSON.parse(text) as DeviceFile;
    } catch {
      throw new DeviceStoreError("DEVICES_CORRUPT", `${path} is not valid JSON`);
    }
    const valid =
      file.version === 1 &&
      Number.isSafeInteger(file.allowlistVersion) &&
      Array.isArray(file.devices) &&
      file.devices.every((d) => typeof d.id === "string" && fromBase64Url(d.key)?.length === 32 && typeof d.name === "string");
    if (!valid) throw new DeviceStoreError("DEVICES_CORRUPT", `${path} is not an Airlock device list`);
    return new DeviceStore(path, file);
  }

  list(): TrustedDevice[] {
    return this.#file.devices.map((d) => ({ ...d }));
  }

  get allowlistVersion(): number {
    return this.#file.allowlistVersion;
  }

  /** Keys for the relay allowlist, in a stable order. */
  keys(): Uint8Array[] {
    return this.#file.devices.map((d) => fromBase64Url(d.key)!);
  }

  isTrusted(key: Uint8Array): boolean {
    const k = toBase64Url(key);
    return this.#file.devices.some((d) => d.key === k);
  }

  byKey(key: Uint8Array): TrustedDevice | undefined {
    const k = toBase64Url(key);
    return this.#file.devices.find((d) => d.key === k);
  }

  /** Finds a device by id (or an unambiguous id prefix). */
  find(idOrPrefix: string): TrustedDevice {
    const exact = this.#file.devices.find((d) => d.id === idOrPrefix);
    if (exact) return exact;
    const matches = this.#file.devices.filter((d) => d.id.startsWith(idOrPrefix));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new DeviceStoreError("DEVICE_AMBIGUOUS", `"${idOrPrefix}" matches ${matches.length} devices; give more of the id`);
    throw new DeviceStoreError("DEVICE_NOT_FOUND", `no trusted device "${idOrPrefix}" (see: airlock devices)`);
  }

  add(key: Uint8Array, name: string, now = new Date()): TrustedDevice {
    const existing = this.byKey(key);
    if (existing) return existing;
    const device: TrustedDevice = { id: deviceIdFor(key), key: toBase64Url(key), name: checkDeviceLabel(name), pairedAt: now.toISOString() };
    this.#file.devices.push(device);
    this.#save();
    return { ...device };
  }

  rename(idOrPrefix: string, name: string): TrustedDevice {
    const device = this.find(idOrPrefix);
    device.name = checkDeviceLabel(name);
    this.#save();
    return { ...device };
  }

  remove(idOrPrefix: string): TrustedDevice {
    const device = this.find(idOrPrefix);
    this.#file.devices = this.#file.devices.filter((d) => d !== device);
    this.#save();
    return device;
  }

  touch(key: Uint8Array, now = new Date()): void {
    const device = this.#file.devices.find((d) => d.key === toBase64Url(key));
    if (!device) return;
    device.lastSeen = now.toISOString();
    this.#save();
  }

  /** Reserves the next allowlist version (above anything the relay has seen). */
  nextAllowlistVersion(relayVersion = 0): number {
    this.#file.allowlistVersion = Math.max(this.#file.allowlistVersion, relayVersion) + 1;
    this.#save();
    return this.#file.allowlistVersion;
  }

  /** Re-reads the file (another `airlock` command may have changed it). */
  reload(): void {
    const fresh = DeviceStore.open(this.#path);
    this.#file = fresh.#file;
  }

  #save(): void {
    mkdirSync(dirname(this.#path), { recursive: true, mode: 0o700 });
    // Atomic and durable: readers (other airlock commands) see the old or the new list, never half, also after a crash.
    writeFileAtomicSync(this.#path, JSON.stringify(this.#file, null, 2) + "\n", { uniqueTemp: true });
  }
}
