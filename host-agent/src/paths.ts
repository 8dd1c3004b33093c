// Where the host agent keeps its state. AIRLOCK_HOME wins; otherwise the
// platform's config directory (XDG on Linux, Application Support on macOS).
import { homedir, platform } from "node:os";
import { join } from "node:path";

export function airlockHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIRLOCK_HOME) return env.AIRLOCK_HOME;
  if (platform() === "darwin") return join(homedir(), "Library", "Application Support", "airlock");
  if (platform() === "win32") return join(env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "airlock");
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "airlock");
}

export interface StatePaths {
  home: string;
  identity: string;
  devices: string;
  config: string;
}

export function statePaths(home: string = airlockHome()): StatePaths {
  return {
    home,
    identity: join(home, "identity.json"),
    devices: join(home, "devices.json"),
    config: join(home, "config.json"),
  };
}
