// esbuild bundles CSS imports into app.css.
declare module "*.css";

// Shape Detection API (Chromium, Safari 17+); not in TypeScript's DOM lib yet.
interface DetectedBarcode {
  rawValue: string;
  format: string;
}
interface BarcodeDetectorOptions {
  formats?: string[];
}
declare class BarcodeDetector {
  constructor(options?: BarcodeDetectorOptions);
  static getSupportedFormats(): Promise<string[]>;
  detect(source: CanvasImageSource | ImageBitmapSource): Promise<DetectedBarcode[]>;
}
