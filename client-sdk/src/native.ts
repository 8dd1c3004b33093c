// @airlock/client-sdk/native: the SDK for React Native and other platforms
// without WebCrypto Ed25519/X25519. Same API as "@airlock/client-sdk", but the
// pure-JS noble backend is wired in statically (Metro bundles one file, so a
// lazy chunk would not save anything) and the WebCrypto backend is left out.
// Needs globalThis.crypto.getRandomValues (react-native-get-random-values)
// and globalThis.WebSocket (React Native has it).
import { nobleBackend } from "@airlock/protocol/noble";
import { AirlockClientCore, openClient, type AirlockClientOptions, type ClientCrypto } from "./client.ts";

export * from "./api.ts";

const nobleOnly: ClientCrypto = {
  backend: async (choice) => {
    if (choice === "webcrypto") throw new Error('noble backend only here: use "@airlock/client-sdk" for WebCrypto');
    return nobleBackend;
  },
};

/** AirlockClient with the noble backend ("auto" and "noble" both mean noble here). */
export class AirlockClient extends AirlockClientCore {
  static async create(options: AirlockClientOptions): Promise<AirlockClient> {
    return new AirlockClient(options, await openClient(options, nobleOnly));
  }
}
