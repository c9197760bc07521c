// gpt-oss-ts inspect --model DIR: config summary, tensor table, bytes by dtype, memory needed.
import { Checkpoint, expectedOf } from "../checkpoint/checkpoint.js";
import { estimateMemory } from "../checkpoint/memory.js";
import { countParameters, formatCount } from "../checkpoint/params.js";
import { formatBytes } from "../util/progress.js";
import { parseArgs } from "./args.js";
import { modelDirOf } from "./common.js";

export const summary = "config summary, tensor table and the memory a model needs";

const HELP = `usage: gpt-oss-ts inspect --model DIR [--json]

Reads only the config and the safetensors headers (no weights) and prints the config, the parameter
counts (total, and active per token: the chosen experts, without the embedding lookup, as OpenAI's
model card counts them), every tensor (name, dtype, shape, bytes), bytes by dtype, and the memory the
model will need.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { model: "string", json: "boolean", help: "boolean" });
  if (args.flags.help) return void console.log(HELP), 0;
  const ckpt = Checkpoint.open(modelDirOf(args));
  try {
    const c = ckpt.config;
    const tensors = ckpt.tensorNames.sort().map((name) => {
      const { file, info } = ckpt.tensor(name);
      return { name, dtype: info.dtype, shape: info.shape, bytes: info.byteLength, file: file.path };
    });
    const byDtype: Record<string, number> = {};
    for (const t of tensors) byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + t.bytes;
    const expected = expectedOf(ckpt);
    const at4k = estimateMemory(c, expected, Math.min(4096, c.maxPositionEmbeddings));
    const atMax = estimateMemory(c, expected, c.maxPositionEmbeddings);
    const params = countParameters(c);
    if (args.flags.json) {
      console.log(JSON.stringify({ dir: ckpt.dir, layout: ckpt.layout, config: c, parameters: params, tensors, bytesByDtype: byDtype, memory: { context4k: at4k, maxContext: atMax } }, null, 2));
      return 0;
    }
    const lines: string[] = [];
    lines.push(`checkpoint  ${ckpt.dir}  (${ckpt.layout === "hf" ? "Hugging Face" : "original"} layout, ${ckpt.files.length} file${ckpt.files.length === 1 ? "" : "s"})`);
    lines.push(`layers      ${c.numLayers}  (${c.layerTypes.filter((t) => t === "sliding_attention").length} sliding, window ${c.slidingWindow})`);
    lines.push(`hidden      ${c.hiddenSize}   heads ${c.numHeads} q / ${c.numKvHeads} kv x ${c.headDim}`);
    lines.push(`experts     ${c.numExperts} per layer, ${c.expertsPerToken} per token, intermediate ${c.intermediateSize}, swiglu_limit ${c.swigluLimit}`);
    lines.push(`vocab       ${c.vocabSize}   context ${c.maxPositionEmbeddings}`);
    lines.push(`parameters  ${formatCount(params.total)} total, ${formatCount(params.activePerToken)} active per token ` +
      `(${params.total} / ${params.activePerToken}; ${c.expertsPerToken} of ${c.numExperts} experts, the embedding lookup not counted)`);
    lines.push(`rope        ${c.rope.type}, theta ${c.rope.theta}${c.rope.type === "yarn" ? `, factor ${c.rope.factor}, beta_fast ${c.rope.betaFast}, beta_slow ${c.rope.betaSlow}, L0 ${c.rope.originalMaxPositionEmbeddings}` : ""}`);
    lines.push("");
    const w = Math.max(...tensors.map((t) => t.name.length));
    lines.push(`${"tensor".padEnd(w)}  dtype  ${"shape".padEnd(22)}  bytes`);
    for (const t of tensors) lines.push(`${t.name.padEnd(w)}  ${t.dtype.padEnd(5)}  ${`[${t.shape.join(", ")}]`.padEnd(22)}  ${t.bytes}`);
    lines.push("");
    lines.push(`${tensors.length} tensors, ${formatBytes(tensors.reduce((s, t) => s + t.bytes, 0), "binary")}`);
    for (const [dt, b] of Object.entries(byDtype)) lines.push(`  ${dt.padEnd(5)} ${formatBytes(b, "binary")} (${b} bytes)`);
    lines.push("");
    lines.push("memory needed (weights as held + f32 KV cache + activations):");
    for (const m of [at4k, atMax]) {
      lines.push(`  context ${String(m.contextLength).padStart(6)}: ${formatBytes(m.total, "binary")}  (weights ${formatBytes(m.weights, "binary")}, KV cache ${formatBytes(m.kvCache, "binary")}, activations ${formatBytes(m.activations, "binary")})`);
    }
    console.log(lines.join("\n"));
    return 0;
  } finally {
    ckpt.close();
  }
}
