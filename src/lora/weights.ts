// An adapter in the form the forward pass reads. Each adapted matrix W [out, in] gets one pair in f32:
// lora_A as saved, [rank, in], and lora_B transposed with the scale folded in, [rank, out], so that both
// products (u = A x, then y = Σ_k u_k b_k) stream whole rows. PEFT computes s · B (A x); folding s into
// B rounds once more in f32 (exact for the power-of-two scales alpha / r usually gives).
//
// Experts: PEFT's ParamWrapper stores one pair for all E experts, lora_A [r*E, in] and lora_B
// [out, r*E]; expert e's A is rows e*r .. e*r + r - 1 (contiguous) and its B is columns k*E + e,
// k = 0..r-1 (strided). Each expert's pair is cut out here once, so the kernels see a plain pair.
import type { LowRank } from "../backends/kernels.js";
import type { ModelConfig } from "../checkpoint/config.js";
import { bf16ToF32, f16ToF32 } from "../checkpoint/numerics.js";
import { SafetensorsFile, type TensorInfo } from "../checkpoint/safetensors.js";
import { heapAllocator, type WeightAllocator } from "../checkpoint/weights.js";
import { isExpert, type AdapterPlan, type PlannedPair } from "./adapter.js";
import { AdapterError, type AdapterConfig } from "./config.js";

export type { LowRank };

/** What an adapter changes in one layer (absent: unchanged). */
export interface AdapterLayer {
  /** the rows of the fused qkv matrix: q, then k, then v */
  q?: LowRank;
  k?: LowRank;
  v?: LowRank;
  /** the attention output projection (o_proj) */
  out?: LowRank;
  /** per expert, gate_up_proj's update [2I, H]: rows interleaved gate, linear, as mlp1's */
  mlp1?: LowRank[];
  /** per expert, down_proj's update [H, I] */
  mlp2?: LowRank[];
}

/** A loaded adapter, ready to be applied to the model it was checked against. */
export interface LoraAdapter {
  /** the folder's name */
  name: string;
  dir: string;
  config: AdapterConfig;
  /** the user's factor on PEFT's scale (1: as trained) */
  scale: number;
  /** one entry per model layer */
  layers: AdapterLayer[];
  /** bytes in memory */
  bytes: number;
  warnings: string[];
  /** e.g. "q_proj, k_proj, v_proj, o_proj on layers 0-3; experts gate_up_proj on layer 1" */
  summary: string;
}

const FIELD = { q_proj: "q", k_proj: "k", v_proj: "v", o_proj: "out" } as const;

/** Reads the pairs of a checked adapter into memory from `alloc` (the kernels' memory), `scale` times PEFT's scale. */
export function loadAdapter(plan: AdapterPlan, c: ModelConfig, alloc: WeightAllocator = heapAllocator, scale = 1): LoraAdapter {
  if (!Number.isFinite(scale)) throw new AdapterError(`${plan.dir}: the scale must be a finite number, got ${scale}`);
  const E = c.numExperts;
  const layers: AdapterLayer[] = Array.from({ length: c.numLayers }, () => ({}));
  const file = SafetensorsFile.open(plan.file);
  try {
    for (let l = 0; l < c.numLayers; l++) {
      const here = plan.pairs.filter((p) => p.layer === l);
      if (here.length === 0) continue;
      // One layer's pairs in one memory: a kernel call reads a pair's two halves together.
      alloc.group?.(here.reduce((s, p) => s + 4 * (isExpert(p.name) ? E : 1) * p.rank * (p.cols + p.rows) + 128, 0), `adapter ${plan.name} layer ${l}`);
      for (const p of here) {
        const A = readFloats(file, p.a), B = readFloats(file, p.b), s = p.scale * scale;
        if (isExpert(p.name)) layers[l][p.name === "gate_up_proj" ? "mlp1" : "mlp2"] = expertPairs(p, A, B, s, E, alloc);
        else layers[l][FIELD[p.name]] = pair(p, A, B, s, 0, 1, alloc);
      }
    }
  } finally {
    file.close();
  }
  return { name: plan.name, dir: plan.dir, config: plan.config, scale, layers, bytes: plan.bytes, warnings: plan.warnings, summary: summarize(plan.pairs) };
}

/** Expert e's pair, for every e: A rows e*r.., B columns k*E + e. */
function expertPairs(p: PlannedPair, A: Float32Array, B: Float32Array, s: number, E: number, alloc: WeightAllocator): LowRank[] {
  return Array.from({ length: E }, (_, e) => pair(p, A, B, s, e, E, alloc));
}

/** The pair of expert e of E (E = 1: a plain projection) from A [rank*E, cols] and B [rows, rank*E]. */
function pair(p: PlannedPair, A: Float32Array, B: Float32Array, s: number, e: number, E: number, alloc: WeightAllocator): LowRank {
  const { rank, cols, rows } = p;
  const a = floats(alloc, rank * cols, p.a.name), b = floats(alloc, rank * rows, p.b.name);
  a.set(A.subarray(e * rank * cols, (e + 1) * rank * cols));
  for (let k = 0; k < rank; k++) {
    for (let o = 0; o < rows; o++) b[k * rows + o] = s * B[o * rank * E + k * E + e];
  }
  return { rank, cols, rows, a, b };
}

function floats(alloc: WeightAllocator, n: number, what: string): Float32Array {
  const bytes = alloc.allocate(4 * n, what);
  return new Float32Array(bytes.buffer, bytes.byteOffset, n);
}

/** A tensor (F32, BF16 or F16) widened to f32; refuses NaN and infinities, which would silently spoil every output. */
function readFloats(file: SafetensorsFile, t: TensorInfo): Float32Array {
  const raw = new Uint8Array(t.byteLength);
  file.readInto(t.name, raw);
  const dv = new DataView(raw.buffer);
  const n = t.byteLength / (t.dtype === "F32" ? 4 : 2);
  const out = new Float32Array(n);
  const decode = t.dtype === "BF16" ? bf16ToF32 : f16ToF32;
  for (let i = 0; i < n; i++) out[i] = t.dtype === "F32" ? dv.getFloat32(4 * i, true) : decode(dv.getUint16(2 * i, true));
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(out[i])) throw new AdapterError(`${file.path}: tensor "${t.name}" holds ${out[i]} at index ${i}`);
  }
  return out;
}

/** What the pairs adapt, grouped by module, with layer ranges. */
function summarize(pairs: PlannedPair[]): string {
  const byName = new Map<string, number[]>();
  for (const p of pairs) byName.set(p.name, [...(byName.get(p.name) ?? []), p.layer]);
  const ranges = (ls: number[]) => {
    const out: string[] = [];
    for (let i = 0; i < ls.length; ) {
      let j = i;
      while (j + 1 < ls.length && ls[j + 1] === ls[j] + 1) j++;
      out.push(i === j ? `${ls[i]}` : `${ls[i]}-${ls[j]}`);
      i = j + 1;
    }
    return out.join(",");
  };
  const groups = new Map<string, string[]>(); // "layers 0-3" -> names
  for (const [name, ls] of byName) {
    const where = `${ls.length === 1 ? "layer" : "layers"} ${ranges([...new Set(ls)].sort((a, b) => a - b))}`;
    groups.set(where, [...(groups.get(where) ?? []), isExpert(name as PlannedPair["name"]) ? `experts.${name}` : name]);
  }
  return [...groups].map(([where, names]) => `${names.join(", ")} on ${where}`).join("; ");
}
