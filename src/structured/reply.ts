// The whole reply under constraint, token by token: Harmony's headers, an optional reasoning message,
// then a final answer (or a tool call) whose content follows its grammar, then the stop token:
//
//   <|channel|>analysis<|message|> ... <|end|><|start|>assistant        (reasoning: optional, repeatable)
//   <|channel|>final[ <|constrain|>json]<|message|> JSON <|return|>     (the answer)
//   <|channel|>commentary to=functions.NAME <|constrain|>json<|message|> JSON <|call|>   (a tool call)
//
// Termination is guaranteed within the token budget: every state knows the fewest tokens that finish
// the reply from it (a header's tokens, the JSON's remaining bytes, the stop token; each byte is a token
// of its own in o200k, so bytes bound tokens), and a token is allowed only if what is left after it
// still covers that. So reasoning is closed, and a JSON value is closed, when the budget requires it.
import type { StepHook } from "../generation/loop.js";
import { HarmonyParser } from "../harmony/parser.js";
import { GptOssError } from "../util/errors.js";
import { getTokenizer, TEXT_TOKEN_COUNT, TOKENS } from "../tokenizer/tokenizer.js";
import type { JsonGrammar, JsonMatcher } from "./grammar.js";

export interface ReplyFormat {
  /** the final answer's content; free text when absent */
  final?: JsonGrammar;
  /** tools the reply may call: with a grammar, the arguments follow it (strict); without, they are free */
  tools?: { name: string; grammar?: JsonGrammar }[];
  /** most tokens of reasoning (analysis content) in the reply; unlimited when absent */
  maxReasoningTokens?: number;
}

/** The budget cannot hold the shortest reply the format allows. */
export class ReplyBudgetError extends GptOssError {
  constructor(message: string, readonly minTokens: number) {
    super(message);
  }
}

type Content =
  | { kind: "analysis" }
  | { kind: "final"; grammar?: JsonGrammar }
  | { kind: "tool"; name: string; grammar?: JsonGrammar };

interface HeaderNode {
  children: Map<number, HeaderNode>;
  /** the message this header opens, at its last token */
  content?: Content;
  /** fewest tokens from here (this node's token already written) to a finished reply */
  cost: number;
  /** every header below opens an analysis message */
  analysisOnly: boolean;
}

type Phase =
  | { kind: "header"; node: HeaderNode }
  | { kind: "content"; content: Content; matcher?: JsonMatcher }
  | { kind: "done" };

/** A step hook of the generation loop (src/generation/loop.ts): `beforeSample` masks, `onToken` advances. */
export class StructuredReply implements StepHook {
  /** reasoning tokens written so far */
  reasoningTokens = 0;
  /** tokens accepted so far */
  generated = 0;
  private phase: Phase;
  private readonly root: HeaderNode;
  /** `<|start|>assistant`, then the root's choices: where a reply goes on after its reasoning */
  private readonly restart: HeaderNode;
  /** fewest tokens to finish once an analysis message's content has begun (its end included) */
  private readonly afterAnalysis: number;
  private scratch = new Float32Array(0);

  constructor(private readonly format: ReplyFormat, readonly maxTokens: number) {
    const tok = getTokenizer();
    const enc = (text: string) => tok.encode(text);
    const { channel, message, constrain, start } = TOKENS;
    this.root = node();
    this.restart = node();
    const contents: [number[], Content][] = [];
    if (format.maxReasoningTokens !== 0) contents.push([[channel, ...enc("analysis"), message], { kind: "analysis" }]);
    const final: Content = { kind: "final", grammar: format.final };
    contents.push([[channel, ...enc("final"), message], final]);
    // gpt-oss also marks a JSON answer's header with a content type.
    if (format.final) contents.push([[channel, ...enc("final"), ...enc(" "), constrain, ...enc("json"), message], final]);
    for (const t of format.tools ?? []) {
      contents.push([[channel, ...enc(`commentary to=functions.${t.name} `), constrain, ...enc("json"), message], { kind: "tool", name: t.name, grammar: t.grammar }]);
    }
    for (const [tokens, content] of contents) {
      let at = this.root;
      for (const t of tokens) {
        let child = at.children.get(t);
        if (!child) at.children.set(t, (child = node()));
        at = child;
      }
      at.content = content;
    }
    const afterStart = node();
    this.restart.children.set(start, afterStart);
    const [assistant] = enc("assistant");
    afterStart.children.set(assistant, this.root);

    // Costs: the cheapest reply never reasons, so it is the root's cost without analysis.
    const base = costOf(this.root, Infinity);
    this.afterAnalysis = 1 + 2 + base; // <|end|>, <|start|>assistant, then a reply without reasoning
    costOf(this.root, this.afterAnalysis);
    this.restart.cost = 2 + this.root.cost;
    afterStart.cost = 1 + this.root.cost;
    if (this.root.cost > maxTokens) {
      throw new ReplyBudgetError(`the reply may take at most ${maxTokens} tokens, but the shortest reply the response format allows takes ${this.root.cost}`, this.root.cost);
    }
    this.phase = { kind: "header", node: this.root };

    function node(): HeaderNode {
      return { children: new Map(), cost: Infinity, analysisOnly: false };
    }
    function contentCost(c: Content, analysis: number): number {
      if (c.kind === "analysis") return analysis;
      return c.grammar ? c.grammar.minBytes + 1 : 0; // free text may be cut off anywhere
    }
    function costOf(n: HeaderNode, analysis: number): number {
      if (n.content) {
        n.analysisOnly = n.content.kind === "analysis";
        return (n.cost = contentCost(n.content, analysis));
      }
      let best = Infinity, onlyAnalysis = true;
      for (const child of n.children.values()) {
        best = Math.min(best, 1 + costOf(child, analysis));
        onlyAnalysis &&= child.analysisOnly;
      }
      n.analysisOnly = onlyAnalysis;
      return (n.cost = best);
    }
  }

  /** the reply is finished (its stop token written) */
  get done(): boolean {
    return this.phase.kind === "done";
  }

  /** Sets the logits of the tokens that may not come next to -Infinity. */
  beforeSample(logits: Float32Array): void {
    const left = this.maxTokens - this.generated; // tokens that may still be written, this one included
    const p = this.phase;
    if (p.kind === "header") {
      const allowed: number[] = [];
      for (const [t, child] of p.node.children) if (this.open(child) && 1 + child.cost <= left) allowed.push(t);
      keepOnly(logits, allowed);
    } else if (p.kind === "content") {
      if (p.matcher) this.maskJson(logits, p.matcher, terminator(p.content), left);
      else this.maskText(logits, p.content, left);
    }
  }

  /** Advances past the token chosen (one the mask allowed). */
  onToken(token: number): void {
    const p = this.phase;
    this.generated++;
    if (p.kind === "header") {
      const child = p.node.children.get(token);
      if (!child || !this.open(child)) throw new Error(`token ${token} is not an allowed header token of the constrained reply`);
      if (!child.content) this.phase = { kind: "header", node: child };
      else {
        const grammar = child.content.kind === "analysis" ? undefined : child.content.grammar;
        this.phase = { kind: "content", content: child.content, matcher: grammar?.matcher() };
      }
    } else if (p.kind === "content") {
      if (token === terminator(p.content)) {
        if (p.matcher && !p.matcher.complete) throw new Error("the JSON value is not complete");
        this.phase = p.content.kind === "analysis" ? { kind: "header", node: this.restart } : { kind: "done" };
      } else if (p.matcher) {
        p.matcher.accept(token);
      } else {
        if (token >= TEXT_TOKEN_COUNT) throw new Error(`special token ${token} inside a constrained message`);
        if (p.content.kind === "analysis") this.reasoningTokens++;
      }
    } else {
      throw new Error("the constrained reply is already finished");
    }
  }

  /** Whether a header subtree may be entered now: analysis only while the reasoning budget lasts. */
  private open(n: HeaderNode): boolean {
    return !n.analysisOnly || this.reasoningTokens < (this.format.maxReasoningTokens ?? Infinity);
  }

  private maskText(logits: Float32Array, c: Content, left: number): void {
    const end = terminator(c);
    // Reasoning goes on while its budget lasts and the rest of the reply still fits after one more token.
    const text = c.kind !== "analysis" || (this.reasoningTokens < (this.format.maxReasoningTokens ?? Infinity) && left - 1 >= this.afterAnalysis);
    if (!text) return keepOnly(logits, [end]);
    for (let t = TEXT_TOKEN_COUNT; t < logits.length; t++) if (t !== end) logits[t] = -Infinity;
  }

  private maskJson(logits: Float32Array, matcher: JsonMatcher, end: number, left: number): void {
    // After this token, left - 1 tokens remain: the JSON's remaining bytes and the stop token.
    const limit = left - 2;
    const { ids, dists, maxDist, excluded } = matcher.allowed();
    if (excluded && maxDist <= limit) {
      // Most tokens are allowed (inside a string): mask the others.
      for (let i = 0; i < excluded.length; i++) logits[excluded[i]] = -Infinity;
      for (let t = TEXT_TOKEN_COUNT; t < logits.length; t++) if (t !== end || !matcher.complete) logits[t] = -Infinity;
      return;
    }
    if (this.scratch.length !== logits.length) this.scratch = new Float32Array(logits.length);
    const out = this.scratch.fill(-Infinity);
    if (maxDist <= limit) {
      for (let i = 0; i < ids.length; i++) out[ids[i]] = logits[ids[i]];
    } else {
      for (let i = 0; i < ids.length; i++) if (dists[i] <= limit) out[ids[i]] = logits[ids[i]];
    }
    if (matcher.complete) out[end] = logits[end];
    logits.set(out);
  }
}

function terminator(c: Content): number {
  return c.kind === "analysis" ? TOKENS.end : c.kind === "final" ? TOKENS.return : TOKENS.call;
}

/** Keeps the logits of `allowed` and sets every other one to -Infinity. */
function keepOnly(logits: Float32Array, allowed: readonly number[]): void {
  const kept = allowed.map((t) => logits[t]);
  logits.fill(-Infinity);
  allowed.forEach((t, i) => (logits[t] = kept[i]));
}

/**
 * A reasoning budget alone: the reply is free, but once its analysis messages hold `maxReasoningTokens`
 * tokens, the current one is closed and a final answer begins: `<|end|><|start|>assistant<|channel|>final<|message|>`.
 */
export class ReasoningBudget implements StepHook {
  reasoningTokens = 0;
  private readonly parser = new HarmonyParser({ role: "assistant" });
  private forced: number[] = [];
  private closed = false;

  constructor(readonly maxReasoningTokens: number) {}

  beforeSample(logits: Float32Array): void {
    if (this.forced.length > 0) keepOnly(logits, [this.forced[0]]);
  }

  onToken(token: number): void {
    const wasAnalysis = this.inAnalysis();
    this.parser.push(token);
    if (this.forced.length > 0) {
      this.forced.shift();
      return;
    }
    if (this.closed || !this.inAnalysis()) return;
    if (wasAnalysis) this.reasoningTokens++;
    if (this.reasoningTokens >= this.maxReasoningTokens) {
      const enc = (text: string) => getTokenizer().encode(text);
      this.forced = [TOKENS.end, TOKENS.start, ...enc("assistant"), TOKENS.channel, ...enc("final"), TOKENS.message];
      this.closed = true;
    }
  }

  private inAnalysis(): boolean {
    const m = this.parser.current;
    return m !== undefined && m.role === "assistant" && m.channel === "analysis";
  }
}
