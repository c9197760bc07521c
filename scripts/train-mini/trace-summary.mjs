// The parts of `gpt-oss-ts trace` a student would look at first, as text, for one arithmetic answer of
// gpt-oss-mini:  node scripts/train-mini/trace-summary.mjs [--model DIR] [--question "What is 347 + 85?"]
// Prints where the digit tokens are routed (the top expert per layer, against all other tokens) and the
// sink's mean share of each head's attention, over the prompt and the generated reply.
import { chatMessages } from "../../dist/src/chat/chat.js";
import { ensureMiniModel } from "../../dist/src/checkpoint/mini.js";
import { renderToTokens } from "../../dist/src/harmony/render.js";
import { textMessage } from "../../dist/src/harmony/types.js";
import { loadModel } from "../../dist/src/model/model.js";
import { getTokenizer, TOKENS } from "../../dist/src/tokenizer/tokenizer.js";
import { traceGenerate } from "../../dist/src/trace/trace.js";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const dir = arg("model", undefined) ?? (await ensureMiniModel());
const question = arg("question", "What is 347 + 85?");
const tok = getTokenizer();
const model = await loadModel(dir);
const prompt = renderToTokens(chatMessages([textMessage("user", question)], { reasoningEffort: "medium", date: "2025-06-28" }), { mode: "completion" });
const { trace } = await traceGenerate(model, prompt, { attention: true, router: true }, { maxTokens: 200, temperature: 0, stopTokens: [TOKENS.return] });
const text = trace.tokens.map((t) => tok.decode([t]));
console.log(`${trace.tokens.length} tokens traced; reply: ${JSON.stringify(text.slice(prompt.length).join(""))}\n`);

const isDigit = (s) => /^\d$/.test(s);
const E = model.config.numExperts, k = model.config.expertsPerToken;
console.log("expert choices (share of the token group that puts each expert in its top-k):");
for (const layer of trace.layers) {
  const r = layer.router;
  const count = (pred) => {
    const c = new Array(E).fill(0);
    let n = 0;
    text.forEach((s, t) => {
      if (!pred(s)) return;
      n++;
      for (let j = 0; j < k; j++) c[r.experts[t * k + j]]++;
    });
    return c.map((x) => (n ? x / n : 0));
  };
  const digits = count(isDigit), others = count((s) => !isDigit(s));
  const fmt = (c) => c.map((x) => (100 * x).toFixed(0).padStart(3)).join(" ");
  console.log(`layer ${layer.layer} (${layer.type.replace("_attention", "")})  digits: ${fmt(digits)}   other tokens: ${fmt(others)}`);
}
console.log("\nsink's mean share of the attention, per head:");
for (const layer of trace.layers) {
  const a = layer.attention;
  const T = trace.tokens.length;
  const mean = Array.from({ length: a.heads }, (_, h) => {
    let s = 0;
    for (let t = 0; t < T; t++) s += a.sink[t * a.heads + h];
    return s / T;
  });
  console.log(`layer ${layer.layer}: ${mean.map((m) => `${(100 * m).toFixed(0)}%`).join("  ")}`);
}
model.dispose();
