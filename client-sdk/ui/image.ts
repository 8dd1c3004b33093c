// Reassembles base64 image chunks into bytes, checks the declared type against
// the file's magic bytes, and only then makes a blob URL.

export const IMAGE_MIME = ["image/png", "image/jpeg", "image/webp"] as const;
export type ImageMime = (typeof IMAGE_MIME)[number];

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class ImageAssembler {
  readonly mime: ImageMime;
  readonly total: number;
  #chunks: Array<string | undefined>;
  #received = 0;

  constructor(mime: string, total: number) {
    if (!(IMAGE_MIME as readonly string[]).includes(mime)) throw new Error(`image type ${mime} is not allowed`);
    if (!Number.isInteger(total) || total < 1 || total > 256) throw new Error("bad chunk count");
    this.mime = mime as ImageMime;
    this.total = total;
    this.#chunks = new Array<string | undefined>(total).fill(undefined);
  }

  get complete(): boolean {
    return this.#received === this.total;
  }

  get received(): number {
    return this.#received;
  }

  /** Adds a chunk; a repeated chunk index is ignored. */
  add(index: number, data: string): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.total) throw new Error("chunk index out of range");
    if (typeof data !== "string" || !B64.test(data)) throw new Error("chunk is not base64");
    if (this.#chunks[index] !== undefined) return;
    this.#chunks[index] = data;
    this.#received++;
  }

  /** The decoded bytes; throws if the data is not the declared image type. */
  bytes(): Uint8Array {
    if (!this.complete) throw new Error("image incomplete");
    const bin = atob(this.#chunks.join(""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    if (!matchesMime(out, this.mime)) throw new Error(`data is not a ${this.mime} image`);
    return out;
  }
}

export function matchesMime(b: Uint8Array, mime: ImageMime): boolean {
  const at = (i: number, ...bytes: number[]) => bytes.every((x, k) => b[i + k] === x);
  switch (mime) {
    case "image/png":
      return at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
    case "image/jpeg":
      return at(0, 0xff, 0xd8, 0xff);
    case "image/webp":
      return at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50);
  }
}
