// Held-out accuracy of gpt-oss-mini, per task family, run by the engine itself at temperature 0:
//   node scripts/train-mini/evaluate.mjs [--model DIR] [--per-family 50] [--precision exact,fast] [--seed 2] [--threads N]
// Questions come from the held-out seed (the training's generator skips every one of its arithmetic
// questions and cities). A weather question counts when the call and its arguments are exact, and the
// answer to the tool's result states that temperature and those conditions.
import { appendReply, chat, pendingToolCalls, toolResultMessage } from "../../dist/src/chat/chat.js";
import { ensureMiniModel } from "../../dist/src/checkpoint/mini.js";
import { loadModel } from "../../dist/src/model/model.js";
import { textMessage } from "../../dist/src/harmony/types.js";
import { HELDOUT_SEED, makeExample, optionsOf } from "./tasks.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const perFamily = Number(arg("per-family", "50"));
const seed = Number(arg("seed", String(HELDOUT_SEED)));
const precisions = arg("precision", "exact,fast").split(",");
const dir = arg("model", undefined) ?? (await ensureMiniModel());
const verbose = process.argv.includes("--verbose");
const threads = arg("threads", undefined);

const FAMILIES = ["arithmetic", "capital", "weather"];
const questions = [];
const count = Object.fromEntries(FAMILIES.map((f) => [f, 0]));
for (let i = 0; questions.length < perFamily * FAMILIES.length; i++) {
  const ex = makeExample(seed, i, "heldout");
  if (count[ex.family] < perFamily) {
    count[ex.family]++;
    questions.push(ex);
  }
}

async function reply(model, conversation, ex) {
  let answer = "";
  let done;
  for await (const e of chat(model, conversation, { ...optionsOf(ex), temperature: 0, maxTokens: 400 })) {
    if (e.type === "answer") answer += e.text;
    if (e.type === "done") done = e;
  }
  return { answer, done };
}

/** Runs one held-out question; returns {ok, got, reasoningTokens}. */
async function ask(model, ex) {
  const conversation = [textMessage("user", ex.question)];
  const first = await reply(model, conversation, ex);
  const reasoningTokens = first.done.reasoningTokens;
  if (ex.family !== "weather") {
    const ok = first.done.stopReason === "return" && first.answer.trim() === ex.expected;
    return { ok, got: first.answer || `(${first.done.stopReason})`, reasoningTokens };
  }
  const [call] = pendingToolCalls(first.done);
  if (!call || call.recipient !== "functions.get_weather" || JSON.stringify(call.arguments) !== JSON.stringify({ city: ex.city })) {
    return { ok: false, got: call ? `${call.recipient} ${call.argumentsText}` : `no call: ${first.answer}`, reasoningTokens };
  }
  const next = appendReply(conversation, first.done).messages;
  next.push(toolResultMessage(call, ex.result));
  const second = await reply(model, next, ex);
  const { temperature, conditions } = ex.expected;
  const ok = second.done.stopReason === "return" && second.answer.includes(`${temperature}°C`) && second.answer.includes(conditions);
  return { ok, got: `${call.argumentsText} -> ${second.answer}`, reasoningTokens };
}

const results = {};
for (const precision of precisions) {
  const model = await loadModel(dir, { precision, ...(threads ? { threads: Number(threads) } : {}) });
  const started = Date.now();
  const tally = Object.fromEntries(FAMILIES.map((f) => [f, { ok: 0, n: 0 }]));
  const effort = { low: [], medium: [], high: [] };
  for (const ex of questions) {
    const r = await ask(model, ex);
    tally[ex.family].n++;
    if (r.ok) tally[ex.family].ok++;
    effort[ex.effort].push(r.reasoningTokens);
    if (verbose || !r.ok) console.error(`${r.ok ? "ok  " : "MISS"} [${precision}] ${ex.effort} ${JSON.stringify(ex.question)} -> ${JSON.stringify(r.got)}`);
  }
  model.dispose();
  results[precision] = { tally, effort, seconds: (Date.now() - started) / 1000 };
}

console.log(`held-out accuracy at temperature 0 (seed ${seed}, ${perFamily} questions per family), model ${dir}`);
console.log(`family       ${precisions.map((p) => p.padStart(14)).join("")}`);
for (const f of FAMILIES) {
  console.log(`${f.padEnd(12)} ${precisions.map((p) => {
    const t = results[p].tally[f];
    return `${t.ok}/${t.n} ${(100 * t.ok / t.n).toFixed(0)}%`.padStart(14);
  }).join("")}`);
}
const mean = (a) => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : 0);
const e = results[precisions[0]].effort;
console.log(`reasoning tokens per first reply (${precisions[0]}): low ${mean(e.low).toFixed(0)}, medium ${mean(e.medium).toFixed(0)}, high ${mean(e.high).toFixed(0)}`);
for (const p of precisions) console.log(`${p}: ${results[p].seconds.toFixed(0)} s`);
