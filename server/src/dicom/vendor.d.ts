// Minimal declarations for the untyped packages this folder uses (the parts we call, loosely typed).
declare module 'dcmjs' {
  const dcmjs: {
    data: {
      DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): unknown };
      DicomMetaDictionary: {
        naturalizeDataset(dict: unknown): Record<string, unknown>;
        denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown>;
        nameMap: Record<string, { tag: string; vr: string } | undefined>;
      };
      DicomDict: new (meta: Record<string, unknown>) => {
        dict: Record<string, unknown>;
        write(): ArrayBuffer;
      };
    };
    log: { setLevel(level: string): void; getLogger(name: string): { setLevel(level: string): void } };
  };
  export default dcmjs;
}

declare module 'xhr2' {
  const XMLHttpRequest: { new (): XMLHttpRequestLike };
  export interface XMLHttpRequestLike {
    timeout: number;
    ontimeout: (() => void) | null;
    readyState: number;
    status: number;
    abort(): void;
  }
  export default XMLHttpRequest;
}
