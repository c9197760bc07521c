// A checkpoint folder, in either released layout: detect the layout, parse and validate the config,
// index every tensor across files, check each one the config needs, then load them into place.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { bf16ToF32, f16ToF32 } from "./numerics.js";
import { nanScale, nonFiniteValue } from "./finite.js";
import { SafetensorsFile, type TensorInfo } from "./safetensors.js";
import { ConfigError, parseConfig, type ModelConfig } from "./config.js";
import { ACCEPTED_DTYPES, expectedTensors, layerOf, NAMES, type ExpectedTensor, type Layout } from "./layout.js";
import { insideFolder } from "../util/paths.js";
import { heapAllocator, type Bf16Matrix, type LayerWeights, type ModelWeights, type Mxfp4Experts, type WeightAllocator } from "./weights.js";
import { GptOssError } from "../util/errors.js";

export class CheckpointError extends GptOssError {}

export interface LoadWeightsOptions {
  /** where the weights go (default: ordinary ArrayBuffers) */
  allocator?: WeightAllocator;
  onProgress?: (done: number, total: number, name: string) => void;
}

/** One tensor's bytes to read into place; `then` finishes it (widening a vector). */
interface PendingRead {
  file: SafetensorsFile;
  offset: number;
  byteLength: number;
  /** where the bytes go; null for a matrix a backend keeps in its own form, whose bytes go to `take` */
  target: Uint8Array | null;
  /** takes the bytes from `at` on, read into a buffer of their own (whole rows of `unit` bytes) */
  take?: (at: number, bytes: Uint8Array) => void;
  unit?: number;
  name: string;
  then?: () => void;
}

/** Largest single read of loadAsync. */
const READ_PIECE = 64 << 20;
/** Largest read of a matrix handed to a backend's form: each is a buffer of its own until converted,
 * so this bounds the load's bf16 bytes in flight (a few of these, not the matrix). */
const FORM_PIECE = 8 << 20;

/** The pieces [at, bytes] of a read: at most `piece` bytes each, whole rows for a read that is `take`n. */
function piecesOf(r: PendingRead, piece: number): [number, number][] {
  const size = r.take ? Math.max(1, Math.floor(Math.min(piece, FORM_PIECE) / r.unit!)) * r.unit! : piece;
  const out: [number, number][] = [];
  for (let at = 0; at < r.byteLength || at === 0; at += size) out.push([at, Math.min(size, r.byteLength - at)]);
  return out;
}

/** Where a piece is read to: its place in the weights, or a fresh buffer for `take`. */
function pieceTarget(r: PendingRead, at: number, bytes: number): Uint8Array {
  return r.target ? r.target.subarray(at, at + bytes) : new Uint8Array(bytes);
}

export interface LocatedTensor {
  file: SafetensorsFile;
  info: TensorInfo;
}

export class Checkpoint {
  private constructor(
    /** the folder holding config.json and the weights */
    readonly dir: string,
    readonly layout: Layout,
    readonly config: ModelConfig,
    readonly configPath: string,
    readonly files: SafetensorsFile[],
    private readonly index: Map<string, LocatedTensor>,
  ) {}

  /** Opens a Hugging Face folder (config.json + model.safetensors or an index and shards), an
   * `original/` folder, or a folder that holds `original/`. Reads headers only. */
  static open(dir: string): Checkpoint {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(`${dir}: not a folder`);
    const hfConfig = join(dir, "config.json");
    let layout: Layout;
    let weightsDir = dir;
    let configPath = hfConfig;
    let rawConfig: unknown;
    if (existsSync(hfConfig)) {
      rawConfig = readJson(hfConfig);
      // An original/ folder's own config.json uses the reference's keys (num_experts, no model_type).
      layout = isOriginalConfig(rawConfig) ? "original" : "hf";
      if (layout === "hf" && !hasSafetensors(dir) && existsSync(join(dir, "original", "config.json"))) {
        // A repo checkout with only original/ weights downloaded.
        layout = "original";
        weightsDir = join(dir, "original");
        configPath = join(weightsDir, "config.json");
        rawConfig = readJson(configPath);
      }
    } else if (existsSync(join(dir, "original", "config.json"))) {
      layout = "original";
      weightsDir = join(dir, "original");
      configPath = join(weightsDir, "config.json");
      rawConfig = readJson(configPath);
    } else {
      throw new CheckpointError(`${dir}: no config.json (nor original/config.json); not a gpt-oss checkpoint folder`);
    }
    const config = parseConfig(rawConfig, configPath, layout);
    const { files, index } = indexTensors(weightsDir, layout);
    try {
      checkLayerCount(config, configPath, layout, index.keys());
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
    const ckpt = new Checkpoint(weightsDir, layout, config, configPath, files, index);
    ckpt.check();
    return ckpt;
  }

  /** The file and header entry of a tensor, by its name in this checkpoint's layout. */
  tensor(name: string): LocatedTensor {
    const t = this.index.get(name);
    if (!t) {
      const where = this.files.map((f) => basename(f.path)).join(", ");
      throw new CheckpointError(`${this.dir}: tensor "${name}" is missing (searched ${where})`);
    }
    return t;
  }

  get tensorNames(): string[] {
    return [...this.index.keys()];
  }

  /** Total bytes of the tensors the model uses, as stored. */
  get weightBytes(): number {
    return expectedTensors(this.config, this.layout).reduce((s, e) => s + this.tensor(e.name).info.byteLength, 0);
  }

  /** Every tensor the config needs exists, with the right dtype and shape: checked before any compute. */
  private check(): void {
    for (const e of expectedTensors(this.config, this.layout)) {
      const { file, info } = this.tensor(e.name);
      if (!ACCEPTED_DTYPES[e.kind].includes(info.dtype)) {
        throw new CheckpointError(`${file.path}: tensor "${e.name}" has dtype ${info.dtype}; expected ${ACCEPTED_DTYPES[e.kind].join(" or ")}`);
      }
      if (info.shape.length !== e.shape.length || info.shape.some((d, i) => d !== e.shape[i])) {
        throw new CheckpointError(`${file.path}: tensor "${e.name}" has shape [${info.shape.join(", ")}]; ${basename(this.configPath)} implies [${e.shape.join(", ")}]`);
      }
    }
  }

  /** Reads every weight into place, one tensor after another. `onProgress` is called after each tensor
   * with bytes done / total. */
  load(options: LoadWeightsOptions = {}): ModelWeights {
    const { weights, reads } = this.place(options.allocator ?? heapAllocator);
    const progress = this.progress(options.onProgress);
    for (const r of reads) {
      for (const [at, bytes] of r.take ? piecesOf(r, FORM_PIECE) : [[0, r.byteLength] as [number, number]]) {
        const target = pieceTarget(r, at, bytes);
        r.file.readRange(r.offset + at, target, r.name);
        r.take?.(at, target);
      }
      r.then?.();
      progress(r.name, r.byteLength);
    }
    return weights;
  }

  /**
   * The same, with several reads in flight (`concurrency`, default 4: the size of libuv's thread
   * pool, which runs them), in pieces of at most 64 MiB. Reading into fresh memory makes the kernel
   * fault its pages in during the copy, which on some machines (VMs) costs as much as the disk read
   * itself; several reads at once do that on every core while the disk works (docs/kernels.md has the
   * figures).
   */
  async loadAsync(options: LoadWeightsOptions & { concurrency?: number; pieceBytes?: number } = {}): Promise<ModelWeights> {
    const piece = options.pieceBytes ?? READ_PIECE;
    const { weights, reads } = this.place(options.allocator ?? heapAllocator);
    const progress = this.progress(options.onProgress);
    const pieces: { read: PendingRead; at: number; bytes: number }[] = [];
    const left = new Map<PendingRead, number>(); // pieces of each read not yet in place
    for (const read of reads) {
      for (const [at, bytes] of piecesOf(read, piece)) {
        pieces.push({ read, at, bytes });
        left.set(read, (left.get(read) ?? 0) + 1);
      }
    }
    let next = 0;
    const lane = async () => {
      while (next < pieces.length) {
        const { read, at, bytes } = pieces[next++];
        const target = pieceTarget(read, at, bytes);
        await read.file.readRangeAsync(read.offset + at, target, read.name);
        read.take?.(at, target);
        const n = left.get(read)! - 1;
        left.set(read, n);
        if (n === 0) read.then?.(); // the other lane may still have been reading an earlier piece
        progress(read.name, bytes);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, lane));
    return weights;
  }

  private progress(onProgress: LoadWeightsOptions["onProgress"]): (name: string, bytes: number) => void {
    const total = this.weightBytes;
    let done = 0;
    return (name, bytes) => {
      done += bytes;
      onProgress?.(done, total, name);
    };
  }

  /** Allocates every weight (through the allocator, in the order the model holds them) and lists the
   * reads that fill them. */
  private place(alloc: WeightAllocator): { weights: ModelWeights; reads: PendingRead[] } {
    const c = this.config;
    const names = NAMES[this.layout];
    const reads: PendingRead[] = [];
    const read = (name: string, target: Uint8Array, then?: () => void) => {
      const { file, info } = this.tensor(name);
      reads.push({ file, offset: info.offset, byteLength: target.byteLength, target, name, then });
    };

    // Concatenated along the first axis (HF q/k/v become one fused qkv, as in the reference).
    // `streamed`: a matrix every token step reads whole, which the backend may keep in a form of its own.
    const matrix = (parts: string[], cols: number, streamed = false): Bf16Matrix => {
      const infos = parts.map((p) => this.tensor(p));
      const rows = infos.reduce((s, t) => s + t.info.shape[0], 0);
      const form = streamed ? alloc.streamed?.(rows, cols, parts[0]) : undefined;
      if (form) {
        let row0 = 0;
        for (const { file, info } of infos) {
          const first = row0, unit = cols * 2;
          reads.push({ file, offset: info.offset, byteLength: info.byteLength, target: null, unit, name: info.name,
            take: (at, b) => form.write(first + at / unit, b) });
          row0 += info.shape[0];
        }
        return form.matrix;
      }
      const bytes = alloc.allocate(rows * cols * 2, parts[0]);
      let at = 0;
      for (const { info } of infos) {
        read(info.name, bytes.subarray(at, at + info.byteLength));
        at += info.byteLength;
      }
      return { rows, cols, data: new Uint16Array(bytes.buffer, bytes.byteOffset, rows * cols) };
    };
    const vector = (parts: string[]): Float32Array => {
      const infos = parts.map((p) => this.tensor(p));
      const n = infos.reduce((s, t) => s + floats(t.info), 0);
      // Through the allocator too: biases, norm scales and sinks are weights the kernels read.
      const place = alloc.allocate(n * 4, parts[0]);
      const out = new Float32Array(place.buffer, place.byteOffset, n);
      let at = 0;
      for (const { file, info } of infos) {
        const raw = new Uint8Array(info.byteLength), to = at;
        read(info.name, raw, () => {
          const problem = nonFiniteValue(out, to, widen(raw, info.dtype, out, to));
          if (problem) throw new CheckpointError(`${file.path}: tensor "${info.name}" ${problem}`);
        });
        at += floats(info);
      }
      return out;
    };
    const bytes = (name: string, then?: (b: Uint8Array) => void): Uint8Array => {
      const b = alloc.allocate(this.tensor(name).info.byteLength, name);
      read(name, b, then && (() => then(b)));
      return b;
    };
    const experts = (blocks: string, scales: string, rows: number, cols: number): Mxfp4Experts => {
      const E = c.numExperts, nb = cols / 32;
      return {
        experts: E, rows, cols,
        blocks: bytes(blocks),
        scales: bytes(scales, (b) => {
          const problem = nanScale(b, [E, rows, nb]);
          if (problem) throw new CheckpointError(`${this.tensor(scales).file.path}: tensor "${scales}" ${problem}`);
        }),
      };
    };

    // Bytes in memory of tensors used together (small vectors are widened to f32), announced to the
    // allocator so that it keeps them in one memory.
    const kinds = new Map(expectedTensors(c, this.layout).map((e) => [e.name, e.kind]));
    const group = (what: string, tensorNames: string[]) => {
      let n = 0;
      for (const name of tensorNames) {
        const info = this.tensor(name).info;
        n += (kinds.get(name) === "vector" ? 4 * floats(info) : info.byteLength) + 64;
      }
      alloc.group?.(n, what);
    };

    const H = c.hiddenSize, I = c.intermediateSize;
    group("embedding", [names.embedding]);
    const embedding = matrix([names.embedding], H);
    const layers: LayerWeights[] = [];
    for (let n = 0; n < c.numLayers; n++) {
      const l = names.layer(n);
      group(`layer ${n}`, Object.values(l).flat());
      layers.push({
        attnNorm: vector([l.attnNorm]),
        qkv: matrix(l.qkv, H, true),
        qkvBias: vector(l.qkvBias),
        out: matrix([l.out], c.numHeads * c.headDim, true),
        outBias: vector([l.outBias]),
        sinks: vector([l.sinks]),
        mlpNorm: vector([l.mlpNorm]),
        gate: matrix([l.gate], H),
        gateBias: vector([l.gateBias]),
        mlp1: experts(l.mlp1Blocks, l.mlp1Scales, 2 * I, H),
        mlp1Bias: vector([l.mlp1Bias]),
        mlp2: experts(l.mlp2Blocks, l.mlp2Scales, H, I),
        mlp2Bias: vector([l.mlp2Bias]),
      });
    }
    group("unembedding", [names.norm, names.unembedding]);
    const norm = vector([names.norm]);
    const unembedding = matrix([names.unembedding], H, true);
    return { weights: { embedding, layers, norm, unembedding }, reads };
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

/** Elements of a float vector tensor (F32, or a 16-bit float type). */
function floats(info: TensorInfo): number {
  return info.byteLength / (info.dtype === "F32" ? 4 : 2);
}

/** Decodes a little-endian float vector into `out` at `at`; returns the element count. */
function widen(raw: Uint8Array, dtype: string, out: Float32Array, at: number): number {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (dtype === "F32") {
    for (let i = 0; i < raw.byteLength / 4; i++) out[at + i] = dv.getFloat32(4 * i, true);
    return raw.byteLength / 4;
  }
  const decode = dtype === "BF16" ? bf16ToF32 : f16ToF32;
  for (let i = 0; i < raw.byteLength / 2; i++) out[at + i] = decode(dv.getUint16(2 * i, true));
  return raw.byteLength / 2;
}

/**
 * The config's layer count against the layers the files hold, before anything is built per layer: more
 * layers than the files would be a long list of missing tensors (or, for an absurd count, a long wait),
 * fewer would run silently as a truncated model.
 */
function checkLayerCount(config: ModelConfig, configPath: string, layout: Layout, tensorNames: Iterable<string>): void {
  let highest = -1;
  for (const name of tensorNames) highest = Math.max(highest, layerOf(name, layout) ?? -1);
  const n = config.numLayers, held = highest + 1;
  if (held < n) {
    throw new ConfigError(configPath, `"num_hidden_layers" is ${n}, but the tensors hold ${held} layers (there is no ${NAMES[layout].layer(held).attnNorm})`);
  }
  if (held > n) {
    throw new ConfigError(configPath, `"num_hidden_layers" is ${n}, but the tensors hold ${held} layers (up to ${NAMES[layout].layer(highest).attnNorm}): the model would run without its last ${held - n}`);
  }
}

/** Checkpoint files must be regular files: a FIFO would block the read forever, a folder fails unnamed. */
function checkRegularFile(path: string): void {
  let kind: string | undefined;
  try {
    const st = statSync(path);
    if (!st.isFile()) kind = st.isDirectory() ? "a folder" : st.isFIFO() ? "a named pipe (FIFO)" : "not a regular file";
  } catch (e) {
    throw new CheckpointError(`${path}: cannot read: ${(e as Error).message}`);
  }
  if (kind) throw new CheckpointError(`${path}: is ${kind}; expected a file`);
}

function readJson(path: string): unknown {
  let text: string;
  checkRegularFile(path);
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CheckpointError(`${path}: cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
}

function isOriginalConfig(raw: unknown): boolean {
  const j = raw as Record<string, unknown>;
  return !!j && typeof j === "object" && "num_experts" in j && !("num_local_experts" in j) && !("model_type" in j);
}

function hasSafetensors(dir: string): boolean {
  return readdirSync(dir).some((f) => f.endsWith(".safetensors"));
}

/** name -> (file, header entry), across every file the layout uses. */
function indexTensors(dir: string, layout: Layout): { files: SafetensorsFile[]; index: Map<string, LocatedTensor> } {
  const indexPath = join(dir, "model.safetensors.index.json");
  let fileNames: string[];
  let weightMap: Record<string, string> | null = null;
  if (layout === "hf" && existsSync(indexPath)) {
    const idx = readJson(indexPath) as { weight_map?: Record<string, string> };
    if (!idx || typeof idx.weight_map !== "object" || idx.weight_map === null) {
      throw new CheckpointError(`${indexPath}: no "weight_map" object`);
    }
    weightMap = idx.weight_map;
    for (const [name, f] of Object.entries(weightMap)) {
      if (typeof f !== "string") throw new CheckpointError(`${indexPath}: weight_map["${name}"] must be a file name (a string), got ${Array.isArray(f) ? "a list" : f === null ? "null" : typeof f}`);
    }
    fileNames = [...new Set(Object.values(weightMap))].sort();
    for (const f of fileNames) {
      insideFolder(dir, f, (why) => new CheckpointError(`${indexPath}: names shard ${JSON.stringify(f)}, which is not a file in ${dir}: ${why}`));
      if (!existsSync(join(dir, f))) throw new CheckpointError(`${indexPath}: names shard "${f}", which is not in ${dir}`);
    }
  } else if (existsSync(join(dir, "model.safetensors"))) {
    fileNames = ["model.safetensors"];
  } else {
    // The reference loader opens every *.safetensors file in the folder; do the same.
    fileNames = readdirSync(dir).filter((f) => f.endsWith(".safetensors")).sort();
    if (fileNames.length === 0) throw new CheckpointError(`${dir}: no .safetensors files`);
  }
  const files: SafetensorsFile[] = [];
  const index = new Map<string, LocatedTensor>();
  try {
    for (const f of fileNames) {
      const file = SafetensorsFile.open(join(dir, f));
      files.push(file);
      for (const info of file.tensors.values()) {
        const prev = index.get(info.name);
        if (prev) throw new CheckpointError(`tensor "${info.name}" appears in both ${prev.file.path} and ${file.path}`);
        index.set(info.name, { file, info });
      }
    }
    if (weightMap) {
      for (const [name, f] of Object.entries(weightMap)) {
        const t = index.get(name);
        if (!t) throw new CheckpointError(`${indexPath}: maps "${name}" to ${f}, but no shard holds it`);
        if (basename(t.file.path) !== f) throw new CheckpointError(`${indexPath}: maps "${name}" to ${f}, but it is in ${basename(t.file.path)}`);
      }
    }
  } catch (e) {
    for (const f of files) f.close();
    throw e;
  }
  return { files, index };
}

/** For error messages and `inspect`: the expected tensor list of this checkpoint. */
export function expectedOf(ckpt: Checkpoint): ExpectedTensor[] {
  return expectedTensors(ckpt.config, ckpt.layout);
}
