/** One model the direct server loads, and how it runs it. */
export interface DirectModel {
  name: string;
  /** ONNX Runtime intra-op threads. */
  threads: number;
  /** Model runs side by side. */
  modelThreads: number;
  /** Images decoded/inferred at once; further requests wait their turn. */
  inflight: number;
}

export interface DirectServerArgs {
  port: number;
  repository: string;
  models: DirectModel[];
}

/** `name:threads:inflight:modelThreads` for each model, comma-separated (e.g. "yolox-nano:1:4:2,yolov8n-int8:2:2:1"). */
export function formatDirectModels(models: readonly DirectModel[]): string {
  return models.map((m) => `${m.name}:${m.threads}:${m.inflight}:${m.modelThreads}`).join(',');
}

/** Parses the direct server's argv: --port N --repository DIR --models name:threads:inflight:modelThreads,... */
export function parseDirectArgs(argv: readonly string[]): DirectServerArgs {
  const value = (flag: string): string => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? argv[i + 1] : undefined;
    if (v === undefined || v.startsWith('--')) throw new Error(`direct-server: ${flag} is required`);
    return v;
  };
  const port = Number(value('--port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`direct-server: --port must be a TCP port, not "${value('--port')}"`);
  const models = value('--models')
    .split(',')
    .map((spec) => {
      const [name, threads, inflight, modelThreads] = spec.split(':');
      const m = { name: name ?? '', threads: Number(threads), inflight: Number(inflight), modelThreads: Number(modelThreads) };
      const count = (n: number, min: number) => Number.isInteger(n) && n >= min;
      if (!m.name || !count(m.threads, 0) || !count(m.inflight, 1) || !count(m.modelThreads, 1)) {
        throw new Error(`direct-server: --models takes name:threads:inflight:modelThreads, not "${spec}"`);
      }
      return m;
    });
  return { port, repository: value('--repository'), models };
}
