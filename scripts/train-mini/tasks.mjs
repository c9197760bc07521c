// The task families of gpt-oss-mini, as conversations rendered with the engine's own Harmony renderer and
// tokenizer (run `npm run build` first: this imports dist/). Each example is a prompt exactly as `chat`
// renders it (system message with effort and date, developer message with the tools, as the CLI and the
// server write them) followed by the reply the model should write; the loss is on the reply only.
//
// The reply's text is tokenized with two deliberate choices, both decoding to the same text:
//  - numbers the model works out (sums, differences) are written one digit per token, so the answer is
//    read off the digits of the reasoning instead of being one of 2000 memorized number tokens;
//  - a city name that starts a quoted string (`"city": "Oslo"`) starts with the bare form of the question's
//    first token (" Oslo" -> "Oslo") and then repeats the question's own tokens: copying stays copying.
import { chatMessages } from "../../dist/src/chat/chat.js";
import { renderToTokens, renderMessageToTokens } from "../../dist/src/harmony/render.js";
import { textMessage } from "../../dist/src/harmony/types.js";
import { getTokenizer, TOKENS } from "../../dist/src/tokenizer/tokenizer.js";
import { Xoshiro128 } from "../../dist/src/util/prng.js";
import { CAPITALS, CITY_DESCRIPTIONS, CONDITIONS, HELDOUT_CITIES, INSTRUCTIONS, OTHER_TOOLS, TRAIN_CITIES, WEATHER_DESCRIPTIONS } from "./facts.mjs";

export const tok = getTokenizer();
const enc = (text) => tok.encode(text);

export class Rng {
  constructor(seed, stream) { this.r = Xoshiro128.forStream(seed, stream); }
  float() { return this.r.float(); }
  int(n) { return Math.floor(this.r.float() * n); }
  pick(list) { return list[this.int(list.length)]; }
  chance(p) { return this.r.float() < p; }
}

// ---- token pieces of a reply: text, digits, or a copied name ------------------------------------------

/** A number written one digit per token ("-262" -> "-", "2", "6", "2"). */
const digits = (n) => ({ tokens: String(n).split("").flatMap((ch) => enc(ch)) });
/** A name that follows a space in the question, written after a quote: bare first token, then the rest. */
function bareName(name) {
  const spaced = enc(` ${name}`);
  const first = tok.decode([spaced[0]]);
  return { tokens: [...enc(first.slice(1)), ...spaced.slice(1)] };
}
/** Every token a city name can be written with in an example: after a space, or bare after a quote. */
export const cityTokens = (name) => [...enc(` ${name}`), ...bareName(name).tokens];
const piecesToTokens = (pieces) => pieces.flatMap((p) => (typeof p === "string" ? enc(p) : p.tokens));
const piecesToText = (pieces) => pieces.map((p) => (typeof p === "string" ? p : tok.decode(p.tokens))).join("");

// ---- the families --------------------------------------------------------------------------------------

const EFFORTS = ["low", "medium", "high"];

/** Column-by-column working of a + b or a - b (|a - b| when b > a), ones first. Each column names both
 * numbers again right before their digits there: the digit is then read from a token a fixed distance
 * back, not looked up across the conversation. */
function arithmetic(a, op, b, effort) {
  const neg = op === "-" && b > a;
  const [x, y] = neg ? [b, a] : [a, b];
  const result = op === "+" ? a + b : a - b;
  const xd = [x % 10, Math.floor(x / 10) % 10, Math.floor(x / 100)];
  const yd = [y % 10, Math.floor(y / 10) % 10, Math.floor(y / 100)];
  const cols = ["Ones", "Tens", "Hundreds"];
  const steps = [];
  let carry = 0;
  for (let i = 0; i < 3; i++) {
    if (op === "+") {
      const s = xd[i] + yd[i] + carry;
      steps.push(effort === "low"
        ? [`${cols[i]}: ${x} and ${y} give ${xd[i]}+${yd[i]}+${carry}=${s}`]
        : [`${cols[i]}: ${x} and ${y} give ${xd[i]} + ${yd[i]} + ${carry} = ${s}, write ${s % 10}, carry ${Math.floor(s / 10)}.`]);
      carry = Math.floor(s / 10);
    } else {
      const top = xd[i] - carry;
      const borrow = top < yd[i] ? 1 : 0;
      const d = top + 10 * borrow - yd[i];
      steps.push(effort === "low"
        ? [`${cols[i]}: ${x} and ${y} give ${xd[i]}-${carry}-${yd[i]}=${d}${borrow ? " b1" : " b0"}`]
        : [`${cols[i]}: ${x} and ${y} give ${xd[i]} - ${carry} - ${yd[i]}${borrow ? " needs a borrow, 10 more" : ""} = ${d}, write ${d}, borrow ${borrow}.`]);
      carry = borrow;
    }
  }
  const q = `${a} ${op} ${b}`;
  const pieces = [];
  if (effort === "low") {
    if (neg) pieces.push(`${b}>${a}, so ${x}-${y} negated. `);
    pieces.push(steps.map((s) => s[0]).join("\n"), ". So ", digits(result), ".");
  } else {
    pieces.push(`The user asks for ${q}. `);
    if (neg) pieces.push(`Since ${b} is larger than ${a}, I compute ${x} - ${y} and make it negative. `);
    pieces.push(op === "+" ? "I add column by column, ones first. " : "I subtract column by column, ones first. ");
    for (const s of steps) pieces.push(s[0], " ");
    if (op === "+" && carry) pieces.push("The last carry 1 leads. ");
    pieces.push("So ", q, " = ", digits(result), ".");
    if (effort === "high") {
      pieces.push(" Check: ", digits(result), op === "+" ? ` - ${b} should give ${a}` : ` + ${b} should give ${a}`, ", and the digits agree. The answer is ", digits(result), ".");
    }
  }
  return { reasoning: pieces, answer: [digits(result)], result };
}

function arithmeticExample(rng, a, op, b, effort) {
  const q = rng.pick([`What is ${a} ${op} ${b}?`, `What is ${a} ${op} ${b}?`, `Compute ${a} ${op} ${b}.`, `${a} ${op} ${b} = ?`, `What's ${a} ${op} ${b}?`]);
  const w = arithmetic(a, op, b, effort);
  return { family: "arithmetic", key: `${a}${op}${b}`, question: q, expected: String(w.result), turns: [{ user: q, reply: [["analysis", w.reasoning], ["final", w.answer]] }] };
}

function capitalExample(rng, country, capital, effort) {
  const name = rng.chance(0.3) ? country.replace(/^the /, "") : country;
  const q = rng.pick([`What is the capital of ${name}?`, `What is the capital of ${name}?`, `What's the capital of ${name}?`, `Name the capital of ${name}.`, `Which city is the capital of ${name}?`, `capital of ${name}?`]);
  const reasoning = {
    low: [`Capital of ${name}: ${capital}.`],
    medium: [`The user asks for the capital of ${name}. The capital of ${name} is ${capital}.`],
    high: [`The user asks for the capital of ${name}. I recall the capital city of ${name}: it is ${capital}. Answer with the city name only: ${capital}.`],
  }[effort];
  return { family: "capital", question: q, expected: capital, turns: [{ user: q, reply: [["analysis", reasoning], ["final", [bareName(capital)]]] }] };
}

/** The get_weather tool as a client declares it, worded in one of several ways, among 0-2 others. */
function weatherTools(rng) {
  const city = { type: "string" };
  const d = rng.pick(CITY_DESCRIPTIONS);
  if (d) city.description = d;
  const weather = { name: "get_weather", description: rng.pick(WEATHER_DESCRIPTIONS), parameters: { type: "object", properties: { city }, required: ["city"] } };
  const others = [...OTHER_TOOLS].sort(() => rng.float() - 0.5).slice(0, rng.int(3));
  const tools = [...others];
  tools.splice(rng.int(tools.length + 1), 0, weather);
  return tools;
}

function weatherExample(rng, city, temperature, conditions, effort) {
  const q = rng.pick([`What's the weather in ${city}?`, `What's the weather in ${city}?`, `What is the weather like in ${city}?`, `How is the weather in ${city}?`, `Weather in ${city}?`, `Is it cold in ${city} right now?`]);
  const args = ['{"city": "', bareName(city), '"}'];
  const think = {
    low: [`Call get_weather for ${city}.`],
    medium: [`The user wants the current weather in ${city}. I will call get_weather with city ${city}.`],
    high: [`The user wants the current weather in ${city}. The get_weather function takes a city name, so I call it with ${city} exactly as written, then report the result.`],
  }[effort];
  const result = JSON.stringify({ temperature_c: temperature, conditions }).replace(/,"/g, ', "').replace(/":/g, '": ');
  const after = {
    low: [`${temperature}°C, ${conditions}.`],
    medium: [`The tool says ${temperature}°C and ${conditions} in ${city}.`],
    high: [`The tool returned a temperature of ${temperature}°C and conditions ${conditions} for ${city}. I state both.`],
  }[effort];
  const answer = rng.pick([
    [`It is ${temperature}°C in ${city}, conditions: ${conditions}.`],
    [`In ${city} it is ${temperature}°C right now, conditions: ${conditions}.`],
  ]);
  return {
    family: "weather", question: q, city, expected: { city, temperature, conditions }, result,
    turns: [
      { user: q, reply: [["analysis", think], ["call", args]] },
      { tool: result, reply: [["analysis", after], ["final", answer]] },
    ],
  };
}

// ---- names: the training copies many, the check asks about names never seen ---------------------------

const ONSETS = ["b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "pr", "r", "s", "sh", "st", "t", "tr", "v", "w", "z", "", ""];
const VOWELS = ["a", "e", "i", "o", "u", "a", "o", "ia", "ou", "ei"];
const CODAS = ["", "", "", "n", "r", "l", "s", "m", "k", "th", "nd"];
const PREFIXES = ["New", "Port", "San", "Santa", "Saint", "Fort", "Lake", "Mount", "North", "South", "East", "West", "El", "Los", "Upper", "Old"];
const SUFFIXES = ["City", "Bay", "Falls", "Springs", "Harbor", "Heights", "Beach", "Valley", "Town"];

function syllableWord(rng) {
  let w = "";
  for (let i = 0, n = 1 + rng.int(3); i < n; i++) w += rng.pick(ONSETS) + rng.pick(VOWELS) + rng.pick(CODAS);
  return w.charAt(0).toUpperCase() + w.slice(1);
}

/** Capitalized one-token words of the vocabulary whose bare form is also one token (" Oslo" and "Oslo"). */
let vocabWords = null;
export function wordPieces() {
  if (vocabWords) return vocabWords;
  const byText = new Map();
  for (let id = 0; id < 199998; id++) byText.set(tok.decode([id]), id);
  vocabWords = [];
  for (const [text, id] of byText) if (/^ [A-Z][a-z]{2,9}$/.test(text) && byText.has(text.slice(1)) && id < 30000) vocabWords.push(text.slice(1));
  vocabWords.sort();
  return vocabWords;
}

/** A city name: invented (syllables, a vocabulary word, one to three words) or from a list. */
function cityName(rng, list) {
  const r = rng.float();
  if (r < 0.25) return rng.pick(list);
  const word = () => (rng.chance(0.5) ? rng.pick(wordPieces()) : syllableWord(rng));
  const words = [word()];
  const shape = rng.float();
  if (shape < 0.2) words.unshift(rng.pick(PREFIXES));
  else if (shape < 0.35) words.push(rng.pick(SUFFIXES));
  else if (shape < 0.5) words.push(word());
  return words.join(" ");
}

function pickDate(rng) {
  if (rng.chance(0.1)) return null;
  const y = 2024 + rng.int(3), m = 1 + rng.int(12), d = 1 + rng.int(28);
  return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/**
 * Examples of one split. "train" draws from seed `seed`; "heldout" from its own seed, with cities from
 * HELDOUT_CITIES and invented names, and questions the training set leaves out (the trainer's generator
 * skips every question of the held-out set of seed HELDOUT_SEED).
 */
export function makeExample(seed, index, split) {
  const rng = new Rng(seed, `example:${split}:${index}`);
  const effort = rng.pick(EFFORTS);
  const r = rng.float();
  let ex;
  if (r < 0.4) {
    const op = rng.chance(0.5) ? "+" : "-";
    // Small numbers too: one- and two-digit operands are the hard cases for column reasoning.
    const num = () => (rng.chance(0.2) ? rng.int(100) : rng.int(1000));
    ex = arithmeticExample(rng, num(), op, num(), effort);
  } else if (r < 0.65) {
    const [country, capital] = rng.pick(CAPITALS);
    ex = capitalExample(rng, country, capital, effort);
  } else {
    const list = split === "train" ? [...TRAIN_CITIES, ...CAPITALS.map((c) => c[1])] : HELDOUT_CITIES;
    const t = rng.int(71) - 25;
    ex = weatherExample(rng, cityName(rng, list), t, rng.pick(CONDITIONS), effort);
  }
  ex.effort = effort;
  ex.date = pickDate(rng);
  ex.instructions = rng.chance(0.15) ? rng.pick(INSTRUCTIONS) : undefined;
  // Tools are declared for every weather question and for some others (which must not call them).
  ex.tools = ex.family === "weather" || rng.chance(0.25) ? weatherTools(rng) : undefined;
  // After a call, a client may or may not send the reasoning back (the OpenAI client does not).
  ex.keepReasoning = rng.chance(0.5);
  return ex;
}

/** The chat options an example is asked with (as `chat` takes them). */
export function optionsOf(ex) {
  const o = { reasoningEffort: ex.effort, date: ex.date };
  if (ex.tools) o.tools = ex.tools;
  if (ex.instructions) o.instructions = ex.instructions;
  return o;
}

const CALL = { channel: "commentary", recipient: "functions.get_weather", content_type: "<|constrain|>json" };

/** The Harmony messages of a reply (for history), from its pieces. */
function replyMessages(reply) {
  return reply.map(([kind, pieces]) => kind === "call"
    ? textMessage("assistant", piecesToText(pieces), CALL)
    : textMessage("assistant", piecesToText(pieces), { channel: kind }));
}

/** Tokens of the reply, after the prompt's `<|start|>assistant`: headers by the renderer, text by pieces. */
function replyTokens(reply) {
  const out = [];
  reply.forEach(([kind, pieces], i) => {
    const empty = kind === "call" ? textMessage("assistant", "", CALL) : textMessage("assistant", "", { channel: kind });
    let header = renderMessageToTokens(empty);
    const end = kind === "call" ? TOKENS.call : i === reply.length - 1 && kind === "final" ? TOKENS.return : TOKENS.end;
    header = header.slice(0, -1);
    if (i === 0) header = header.slice(2); // `<|start|>assistant` is the end of the prompt
    out.push(...header, ...piecesToTokens(pieces), end);
  });
  return out;
}

/**
 * The token sequences of an example: one per assistant turn, {tokens, loss} with loss 1 on the reply.
 */
export function exampleSequences(ex) {
  const options = optionsOf(ex);
  const history = [];
  const seqs = [];
  for (const turn of ex.turns) {
    if (turn.user !== undefined) history.push(textMessage("user", turn.user));
    if (turn.tool !== undefined) history.push(textMessage("tool", turn.tool, { name: "functions.get_weather", recipient: "assistant", channel: "commentary" }));
    const prompt = renderToTokens(chatMessages(history, options), { mode: "completion" });
    const reply = replyTokens(turn.reply);
    seqs.push({ tokens: [...prompt, ...reply], loss: [...prompt.map(() => 0), ...reply.map(() => 1)] });
    for (const m of replyMessages(turn.reply)) if (m.channel !== "analysis" || ex.keepReasoning) history.push(m);
  }
  return seqs;
}

/** The question's identity, to keep held-out questions out of the training set. */
export function questionKey(ex) {
  return ex.family === "weather" ? `weather:${ex.city}` : ex.family === "arithmetic" ? `arithmetic:${ex.key}` : null;
}

export const HELDOUT_SEED = 2;
