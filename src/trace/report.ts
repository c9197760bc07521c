// A trace as one self-contained HTML page: the data inlined as JSON, drawn by an inline script into
// SVG and canvas. No network, no external files; open it from disk in any browser.
import { Buffer } from "node:buffer";
import { REPORT_SCRIPT } from "./report-script.js";
import type { TokenText } from "./token-text.js";
import type { Trace } from "./trace.js";
import type { AdapterDiff } from "./adapter-diff.js";

export interface ReportInfo {
  /** shown as the page title, e.g. the model folder */
  title: string;
  /** tokens from this index on were generated, not given (default: none) */
  promptLength?: number;
  /** extra lines for the header (backend, timings) */
  notes?: string[];
  /** the traced model has LoRA adapters: what they change against the base model (compareWithBase) */
  adapterDiff?: AdapterDiff;
}

/** The report page for a trace with router, attention and lens data (the default TraceRequest). */
export function renderReport(trace: Trace, text: TokenText, info: ReportInfo): string {
  const data = reportData(trace, text, info);
  // JSON inside <script>: escape "<" so no token text can close the element.
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const c = trace.config;
  const summary = `${c.numLayers} layers · ${c.numExperts} experts (${c.expertsPerToken} per token) · ${c.numHeads} query heads, ` +
    `${c.numKvHeads} KV heads · hidden ${c.hiddenSize} · vocabulary ${c.vocabSize} · ${trace.tokens.length} tokens`;
  const notes = [...(info.notes ?? []), ...(text.note ? [`Token text: ${text.note}.`] : [])];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(`Trace: ${info.title}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>Inside the model: ${escapeHtml(info.title)}</h1>
  <p class="summary">${escapeHtml(summary)}</p>
  ${notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join("\n  ")}
  <div id="tokens" class="tokens" aria-label="tokens"></div>
  <nav>${info.adapterDiff ? `<a href="#adapter">Adapter vs base</a> · ` : ""}<a href="#router">Router usage</a> · <a href="#choices">Expert choices</a> · <a href="#sinks">Sink mass</a> · <a href="#attention">Attention</a> · <a href="#lens">Logit lens</a></nav>
</header>
<main>
${info.adapterDiff ? adapterSection(info.adapterDiff, text) : ""}
<section id="router">
  <h2>Router usage: layers × experts</h2>
  <p class="explain">How many of the tokens chose each expert, per layer. Dark cells are busy experts; pale ones are rarely used.</p>
  <div id="router-plot" class="plot"></div>
</section>
<section id="choices">
  <h2>Expert choices per token</h2>
  <p class="explain">Each row is a token; coloured cells are its ${c.expertsPerToken} chosen experts, shaded by their weight. Hover for router logits.
  <label>Layer <select id="choices-layer"></select></label></p>
  <div id="choices-plot" class="plot"></div>
</section>
<section id="sinks">
  <h2>Sink mass: layers × heads</h2>
  <p class="explain">Every head has a learned sink logit that takes a share of the softmax without contributing a value, so a head can attend to “nothing”.</p>
  <div id="sink-plot" class="plot"></div>
</section>
<section id="attention">
  <h2>Attention per layer and head</h2>
  <p class="explain">Rows are query tokens, columns key positions; the first (orange) column is the sink's share, grey cells are masked (causal, or outside the sliding window). Click a head to enlarge it.
  <label>Layer <select id="attn-layer"></select></label></p>
  <div id="attn-heads" class="heads"></div>
  <h3 id="attn-focus-title"></h3>
  <div class="plot"><canvas id="attn-focus" width="10" height="10"></canvas></div>
</section>
<section id="lens">
  <h2>Logit lens</h2>
  <p class="explain">Each layer's residual stream read through the final norm and the unembedding: the most likely next token at that depth. Hover a cell for the top ${trace.layers[0]?.lens?.top ?? 0}.</p>
  <div id="lens-legend"></div>
  <div class="plot"><table id="lens-table" class="lens"></table></div>
</section>
</main>
<div id="tooltip" class="tooltip" role="tooltip"></div>
<script type="application/json" id="trace-data">${json}</script>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}

/** What the page script reads: small numbers rounded, attention probabilities as base64 bytes (p * 255). */
function reportData(trace: Trace, text: TokenText, info: ReportInfo) {
  const c = trace.config, T = trace.tokens.length;
  const round = (a: ArrayLike<number>, digits: number) => Array.from(a, (v) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v === Infinity ? 1e9 : -1e9));
  const need = (what: string) => new Error(`the report needs ${what} in the trace (leave it on in the TraceRequest)`);
  const lensStages = [
    { name: "embedding", lens: trace.embeddingLens },
    ...trace.layers.map((l) => ({ name: `layer ${l.layer}`, lens: l.lens })),
  ];
  const lensLabels: Record<number, string> = {};
  const stages = lensStages.map(({ name, lens }) => {
    if (!lens) throw need("the logit lens");
    for (const id of lens.ids) lensLabels[id] ??= text.label(id);
    return { name, ids: Array.from(lens.ids), probs: round(lens.probs, 4) };
  });
  return {
    model: {
      layers: c.numLayers, experts: c.numExperts, k: c.expertsPerToken, heads: c.numHeads, kvHeads: c.numKvHeads,
      window: c.slidingWindow, layerTypes: c.layerTypes,
    },
    tokens: trace.tokens,
    labels: trace.tokens.map((id) => text.label(id)),
    startPosition: trace.startPosition,
    promptLength: info.promptLength ?? T,
    load: trace.layers.map((l) => {
      if (!l.router) throw need("the router");
      return Array.from(l.router.load);
    }),
    choices: trace.layers.map((l) => ({
      experts: Array.from(l.router!.experts), weights: round(l.router!.weights, 4), logits: round(l.router!.logits, 3),
    })),
    attention: trace.layers.map((l) => {
      const a = l.attention;
      if (!a) return null;
      const bytes = new Uint8Array(a.probs.length);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(a.probs[i] * 255);
      return { keys: a.keys, probs: Buffer.from(bytes).toString("base64"), sink: round(a.sink, 4) };
    }),
    lens: { top: stages.length ? trace.embeddingLens!.top : 0, stages },
    lensLabels,
  };
}

/** The adapter section, drawn here (tables and bars, no script): per layer the router choices that
 * changed, per position the logit change and the top tokens before and after. */
function adapterSection(d: AdapterDiff, text: TokenText): string {
  const T = d.tokens.length;
  const label = (id: number) => `<code>${escapeHtml(JSON.stringify(text.label(id)).slice(1, -1))}</code>`;
  const tops = (list: { id: number; prob: number }[], changed: boolean) =>
    list.map((x, i) => `<span class="${i === 0 && changed ? "changed" : ""}">${label(x.id)} ${(100 * x.prob).toFixed(1)}%</span>`).join(" ");
  const bar = (v: number, max: number) => `<span class="bar" style="width:${max > 0 ? Math.round((120 * v) / max) : 0}px"></span>`;
  const flips = d.positions.filter((p) => p.before[0]?.id !== p.after[0]?.id).length;
  const worst = d.positions.reduce((w, p, i) => (p.maxLogitChange > d.positions[w].maxLogitChange ? i : w), 0);
  const maxDelta = d.positions[worst]?.maxLogitChange ?? 0, maxChoices = Math.max(0, ...d.layers.map((l) => l.choicesChanged));
  const layerRows = d.layers.map((l) => `<tr><td>${l.layer}</td><td>${l.tokensChanged} of ${T}</td><td>${l.choicesChanged} of ${T * d.k}</td><td class="left">${bar(l.choicesChanged, maxChoices)}</td></tr>`);
  const posRows = d.positions.map((p, t) => {
    const changed = p.before[0]?.id !== p.after[0]?.id;
    return `<tr${changed ? ` class="flip"` : ""}><td>${t}</td><td class="left">${label(p.token)}</td><td>${p.maxLogitChange.toFixed(3)}</td><td class="left">${bar(p.maxLogitChange, maxDelta)}</td>` +
      `<td>${p.kl.toFixed(4)}</td><td class="left">${tops(p.before, changed)}</td><td class="left">${tops(p.after, changed)}</td></tr>`;
  });
  return `<section id="adapter">
  <h2>What the adapter changes</h2>
  <p class="explain">This model applies ${d.adapters.map((a, i) => `<b>${escapeHtml(a)}</b> (${escapeHtml(d.summaries[i])})`).join(" and ")}. Below it is compared with the base model (the same weights without the adapter) on the same ${T} tokens: the most likely next token differs at ${flips} of ${T} positions; the largest logit change is ${maxDelta.toFixed(3)} (position ${worst}).</p>
  <h3>Router choices that changed, per layer</h3>
  <table class="diff"><tr><th>layer</th><th>tokens with other experts</th><th>experts chosen differently</th><th></th></tr>
  ${layerRows.join("\n  ")}</table>
  <h3>Next-token prediction at each position: before (base) and after (adapter)</h3>
  <p class="explain">max |Δlogit| over the vocabulary; KL(after ‖ before) in nats; top tokens with their probabilities. Rows where the top token changed are marked.</p>
  <div class="plot"><table class="diff"><tr><th>pos</th><th>token</th><th>max |Δlogit|</th><th></th><th>KL</th><th>top before</th><th>top after</th></tr>
  ${posRows.join("\n  ")}</table></div>
</section>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; background: #f4f5f7; }
header, main { max-width: 1280px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 6px; }
h3 { font-size: 14px; font-weight: 600; margin: 14px 0 6px; }
.summary { margin: 0 0 6px; color: #444; }
.note { margin: 4px 0; color: #7a4a00; }
nav { margin: 10px 0 4px; }
nav a { color: #1f5fa8; text-decoration: none; }
section { background: #fff; border: 1px solid #dde0e5; border-radius: 8px; padding: 14px 16px; margin: 14px 0; }
.explain { margin: 0 0 10px; color: #444; max-width: 1000px; }
label { margin-left: 10px; font-weight: 600; white-space: nowrap; }
select { font: inherit; padding: 2px 4px; }
.plot { overflow: auto; max-height: 640px; }
.tokens { display: flex; flex-wrap: wrap; gap: 3px; margin: 6px 0; max-height: 120px; overflow: auto; }
.tok { font: 12px ui-monospace, Menlo, Consolas, monospace; background: #e8eef7; border: 1px solid #c9d6ea; border-radius: 4px; padding: 1px 5px; white-space: pre; }
.tok.gen { background: #fdebd3; border-color: #f0c58e; }
svg.heatmap text { font: 11px system-ui, sans-serif; }
svg.heatmap text.axis { fill: #333; } /* not cell-text: its fill attribute picks ink for the cell's shade, and CSS would win over it */
svg.heatmap text.cell-text { font-size: 10px; pointer-events: none; }
svg.heatmap rect.cell:hover { stroke: #000; stroke-width: 1.5; }
.legend { display: flex; align-items: center; gap: 6px; margin: 6px 0; font-size: 12px; color: #444; }
.legend-bar { display: inline-block; width: 160px; height: 10px; border: 1px solid #ccc; }
.legend-caption { margin-left: 8px; }
.heads { display: flex; flex-wrap: wrap; gap: 10px; max-height: 560px; overflow: auto; }
.heads figure { margin: 0; padding: 4px; border: 2px solid transparent; border-radius: 6px; cursor: pointer; }
.heads figure.selected { border-color: #1f5fa8; }
.heads figcaption { font-size: 11px; color: #444; text-align: center; }
canvas.attn-head { display: block; image-rendering: pixelated; border: 1px solid #ccc; }
table.lens { border-collapse: collapse; font: 12px ui-monospace, Menlo, Consolas, monospace; }
table.lens th, table.lens td { border: 1px solid #fff; padding: 2px 5px; white-space: pre; text-align: center; }
table.lens th { background: #eef0f3; font-weight: 600; }
table.lens th.stage { text-align: right; position: sticky; left: 0; z-index: 1; font-family: system-ui, sans-serif; }
table.lens tr.input th { color: #1f5fa8; }
table.lens td.hit { outline: 2px solid #e8590c; outline-offset: -2px; font-weight: 700; }
table.diff { border-collapse: collapse; font-size: 12px; }
table.diff th, table.diff td { border-bottom: 1px solid #e6e8ec; padding: 2px 8px; text-align: right; white-space: nowrap; }
table.diff td.left { text-align: left; }
table.diff code { font: 12px ui-monospace, Menlo, Consolas, monospace; background: #eef0f3; padding: 0 3px; border-radius: 3px; white-space: pre; }
table.diff tr.flip td { background: #fff4e6; }
table.diff span.changed code { outline: 2px solid #e8590c; }
span.bar { display: inline-block; height: 9px; background: #6baed6; vertical-align: middle; }
.tooltip { position: fixed; display: none; background: #222; color: #fff; padding: 4px 8px; border-radius: 4px; font-size: 12px; pointer-events: none; white-space: pre; z-index: 10; }
`;
