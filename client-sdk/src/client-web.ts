// AirlockClient of the main entry (index.ts, and node/): WebCrypto where the
// platform has Ed25519/X25519, else the noble backend loaded on demand.
import { AirlockClientCore, openClient, type AirlockClientOptions } from "./client.ts";
import { browserCrypto } from "./crypto.ts";

export class AirlockClient extends AirlockClientCore {
  static async create(options: AirlockClientOptions): Promise<AirlockClient> {
    return new AirlockClient(options, await openClient(options, browserCrypto));
  }
}
