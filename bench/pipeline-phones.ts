// The other phones of the pipeline benchmark's many-threads case, in a process
// of their own: four phones are four devices, and the one that decides should
// not decrypt and check the other three's frames on its own event loop. The
// parent (bench/pipeline.bench.ts) drives them over IPC:
//   { type: "pair", link, name }                 → { type: "paired" }
//   { type: "watch", thread, kind, n, size }     every phone checks that stream, then subscribes → { type: "watching" }
//   { type: "subscribe", thread }                every phone subscribes (no check) → { type: "subscribed" }
//   { type: "results" }                          once every watched stream ended → { type: "results", streams }
//   { type: "stop" }                             closes the phones → { type: "stopped" }
// Stream end times are wall-clock ms (wallNow), comparable with the parent's.
import { BenchDevice, watchStream, type StreamOutcome } from "./pipeline-device.ts";
import { wallNow } from "./pipeline-shared.ts";

export interface PhonesStream {
  /** Wall-clock ms when the stream's last event arrived. */
  wallAt: number;
  outcome: Omit<StreamOutcome, "ms">;
}

type Request =
  | { type: "pair"; link: string; name: string }
  | { type: "watch"; thread: string; kind: "delta" | "output"; n: number; size: number }
  | { type: "subscribe"; thread: string }
  | { type: "results" }
  | { type: "stop" };

async function subscribeAll(phones: BenchDevice[], thread: string): Promise<void> {
  for (const phone of phones) {
    const { m } = await phone.command("thread.subscribe", { thread, afterSeq: 0 });
    if (m.type !== "result") throw new Error(`thread.subscribe failed: ${JSON.stringify(m.body)}`);
  }
}

async function main(relayUrl: string): Promise<void> {
  const phones: BenchDevice[] = [];
  const streams: Promise<PhonesStream>[] = [];
  const reply = (m: Record<string, unknown>): void => {
    process.send!(m);
  };
  process.on("message", (m: Request) => {
    const handle = async (): Promise<void> => {
      switch (m.type) {
        case "pair":
          phones.push(await BenchDevice.pair(relayUrl, m.link, m.name));
          return reply({ type: "paired" });
        case "watch":
          for (const phone of phones) {
            const watch = watchStream(phone, m.kind, m.n, m.size);
            watch.thread(m.thread);
            // The arrival time is this process's clock; the parent compares wall-clock times.
            streams.push(watch.done.then(({ at, outcome }) => ({ wallAt: performance.timeOrigin + at, outcome })));
          }
          await subscribeAll(phones, m.thread);
          return reply({ type: "watching" });
        case "subscribe":
          await subscribeAll(phones, m.thread);
          return reply({ type: "subscribed" });
        case "results":
          return reply({ type: "results", streams: await Promise.all(streams) });
        case "stop":
          for (const phone of phones) await phone.close();
          process.send!({ type: "stopped" }, () => process.exit(0));
          return;
      }
    };
    handle().catch((e: unknown) => reply({ type: "error", message: e instanceof Error ? e.message : String(e) }));
  });
  reply({ type: "ready", at: wallNow() });
}

if (process.send) {
  main(process.argv[2]!).catch((e: unknown) => {
    process.stderr.write(`[pipeline phones] ${String(e)}\n`);
    process.exit(1);
  });
}
