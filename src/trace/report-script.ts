// The report page's own script (plain browser JavaScript, inlined into the HTML): it reads the trace
// data from the page and draws the pictures. No libraries and no network, so the file works offline
// and forever. Kept as a string because it runs in the browser, not in Node; it avoids backticks and
// dollar-brace so it can sit in a raw template literal. Labels are set with textContent, never as HTML.
export const REPORT_SCRIPT = String.raw`
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("trace-data").textContent);
  var M = D.model, T = D.tokens.length, L = M.layers, E = M.experts, K = M.k, NQ = M.heads;
  var SVGNS = "http://www.w3.org/2000/svg";

  // ---- helpers ----
  function visible(s) {
    return s.replace(/ /g, "\u2423").replace(/\n/g, "\u23CE").replace(/\r/g, "\u240D").replace(/\t/g, "\u21E5");
  }
  function short(s, n) { s = visible(s); return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  function tokLabel(t) { return D.labels[t]; }
  function tokenAt(p) { var t = p - D.startPosition; return t >= 0 && t < T ? tokLabel(t) : "?"; }
  function lensLabel(id) { var s = D.lensLabels[id]; return s === undefined ? "#" + id : s; }
  function fmt(v, n) { return v.toFixed(n === undefined ? 3 : n); }
  function pct(v) { return (100 * v).toFixed(v < 0.1 ? 1 : 0) + "%"; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function b64(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // Sequential colour ramps: blue for probabilities and loads, orange for the sink.
  var BLUE = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
  var ORANGE = [[255, 245, 235], [253, 208, 162], [253, 141, 60], [217, 72, 1], [127, 39, 4]];
  function ramp(stops, v) {
    v = Math.max(0, Math.min(1, v));
    var x = v * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
    var a = stops[i], b = stops[i + 1];
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
  }
  function css(rgb) { return "rgb(" + Math.round(rgb[0]) + "," + Math.round(rgb[1]) + "," + Math.round(rgb[2]) + ")"; }
  // Text over a cell of colour rgb: white or near-black, whichever contrasts more (WCAG relative luminance).
  function luminance(rgb) {
    var l = rgb.map(function (c) { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  }
  function ink(rgb) {
    var l = luminance(rgb), dark = luminance([27, 27, 27]);
    return 1.05 / (l + 0.05) > (l + 0.05) / (dark + 0.05) ? "#fff" : "#1b1b1b";
  }

  function legend(host, stops, lo, hi, caption) {
    var box = el("div", { "class": "legend" });
    box.appendChild(el("span", {}, lo));
    var bar = el("span", { "class": "legend-bar" });
    var g = [];
    for (var i = 0; i <= 10; i++) g.push(css(ramp(stops, i / 10)));
    bar.style.background = "linear-gradient(to right," + g.join(",") + ")";
    box.appendChild(bar);
    box.appendChild(el("span", {}, hi));
    if (caption) box.appendChild(el("span", { "class": "legend-caption" }, caption));
    host.appendChild(box);
  }

  // A grid of rects with row and column labels; value(r, c) in [0, 1] picks the colour.
  function heatmap(o) {
    var cw = o.cellW, ch = o.cellH, lw = o.labelW, lh = o.labelH;
    var w = lw + o.cols * cw + 4, h = lh + o.rows * ch + 4;
    var svg = sv("svg", { id: o.id, "class": "heatmap", width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img" });
    svg.appendChild(sv("title", {}, o.caption));
    for (var c = 0; c < o.cols; c++) {
      var x = lw + c * cw + cw / 2;
      var lab = o.colLabel(c);
      if (o.rotateCols) svg.appendChild(sv("text", { x: x + 3, y: lh - 4, "class": "axis", transform: "rotate(-60 " + (x + 3) + " " + (lh - 4) + ")" }, lab));
      else svg.appendChild(sv("text", { x: x, y: lh - 5, "class": "axis", "text-anchor": "middle" }, lab));
    }
    for (var r = 0; r < o.rows; r++) {
      svg.appendChild(sv("text", { x: lw - 5, y: lh + r * ch + ch / 2 + 4, "class": "axis", "text-anchor": "end" }, o.rowLabel(r)));
      for (var c2 = 0; c2 < o.cols; c2++) {
        var v = o.value(r, c2);
        var rect = sv("rect", { x: lw + c2 * cw, y: lh + r * ch, width: cw - 1, height: ch - 1, fill: v === null ? "#eee" : css(ramp(o.stops, v)), "class": "cell" });
        rect.appendChild(sv("title", {}, o.title(r, c2)));
        svg.appendChild(rect);
        var txt = o.text ? o.text(r, c2) : null;
        if (txt) svg.appendChild(sv("text", { x: lw + c2 * cw + cw / 2, y: lh + r * ch + ch / 2 + 4, "class": "cell-text", "text-anchor": "middle", fill: ink(v === null ? [238, 238, 238] : ramp(o.stops, v)) }, txt));
      }
    }
    return svg;
  }

  // ---- header: the tokens ----
  var strip = document.getElementById("tokens");
  D.tokens.forEach(function (id, t) {
    var chip = el("span", { "class": "tok" + (t >= D.promptLength ? " gen" : ""), title: "position " + (D.startPosition + t) + ", id " + id }, short(tokLabel(t), 16));
    strip.appendChild(chip);
  });

  // ---- router usage: layers x experts ----
  (function () {
    var host = document.getElementById("router-plot");
    var maxFrac = 0;
    for (var l = 0; l < L; l++) for (var e = 0; e < E; e++) maxFrac = Math.max(maxFrac, D.load[l][e] / T);
    var cw = Math.max(12, Math.min(28, Math.floor(1000 / E)));
    host.appendChild(heatmap({
      id: "router-heatmap", caption: "router usage: layers x experts", rows: L, cols: E, cellW: cw, cellH: 18, labelW: 64, labelH: 22,
      stops: BLUE, rowLabel: function (r) { return "layer " + r; }, colLabel: function (c) { return E > 40 && c % 4 ? "" : String(c); },
      value: function (r, c) { return maxFrac ? D.load[r][c] / T / maxFrac : 0; },
      title: function (r, c) { return "layer " + r + ", expert " + c + ": chosen by " + D.load[r][c] + " of " + T + " tokens (" + pct(D.load[r][c] / T) + ")"; },
      text: cw >= 24 ? function (r, c) { return D.load[r][c] ? String(D.load[r][c]) : ""; } : null,
    }));
    legend(host, BLUE, "0", pct(maxFrac), "share of tokens choosing the expert; even use would be " + pct(K / E) + " each");
  })();

  // ---- expert choices per token, one layer at a time ----
  function layerSelect(id, onChange, describe) {
    var sel = document.getElementById(id);
    for (var l = 0; l < L; l++) sel.appendChild(el("option", { value: String(l) }, describe(l)));
    sel.addEventListener("change", function () { onChange(Number(sel.value)); });
    onChange(0);
  }
  function layerName(l) { return "layer " + l + (M.layerTypes[l] === "sliding_attention" ? " (sliding, window " + M.window + ")" : " (full)"); }

  layerSelect("choices-layer", function (l) {
    var host = document.getElementById("choices-plot");
    host.textContent = "";
    var c = D.choices[l];
    var weight = function (t, e) {
      for (var j = 0; j < K; j++) if (c.experts[t * K + j] === e) return { w: c.weights[t * K + j], rank: j + 1 };
      return null;
    };
    var cw = Math.max(16, Math.min(34, Math.floor(1000 / E)));
    host.appendChild(heatmap({
      id: "choices-heatmap", caption: "expert choices per token, layer " + l, rows: T, cols: E, cellW: cw, cellH: 18, labelW: 150, labelH: 22,
      stops: BLUE, rowLabel: function (t) { return (D.startPosition + t) + " " + short(tokLabel(t), 14); },
      colLabel: function (e) { return E > 40 && e % 4 ? "" : String(e); },
      value: function (t, e) { var x = weight(t, e); return x ? x.w : 0; },
      title: function (t, e) {
        var x = weight(t, e), s = "token " + (D.startPosition + t) + " \u201C" + visible(tokLabel(t)) + "\u201D, expert " + e + ": router logit " + fmt(c.logits[t * E + e]);
        return x ? s + ", chosen (rank " + x.rank + " of " + K + "), weight " + fmt(x.w) : s + ", not chosen";
      },
      text: cw >= 26 ? function (t, e) { var x = weight(t, e); return x ? fmt(x.w, 2).replace(/^0/, "") : ""; } : null,
    }));
    legend(host, BLUE, "0", "1", "expert weight of the token (softmax over its " + K + " chosen experts); blank = not chosen");
  }, layerName);

  // ---- sink mass: layers x heads ----
  (function () {
    var host = document.getElementById("sink-plot");
    var mean = [];
    for (var l = 0; l < L; l++) {
      mean.push([]);
      for (var h = 0; h < NQ; h++) {
        var a = D.attention[l];
        if (!a) { mean[l].push(null); continue; }
        var s = 0;
        for (var t = 0; t < T; t++) s += a.sink[t * NQ + h];
        mean[l].push(s / T);
      }
    }
    var cw = Math.max(12, Math.min(30, Math.floor(1000 / NQ)));
    host.appendChild(heatmap({
      id: "sink-heatmap", caption: "mean sink mass: layers x heads", rows: L, cols: NQ, cellW: cw, cellH: 18, labelW: 64, labelH: 22,
      stops: ORANGE, rowLabel: function (r) { return "layer " + r; }, colLabel: function (c) { return NQ > 40 && c % 4 ? "" : String(c); },
      value: function (r, c) { return mean[r][c]; },
      title: function (r, c) { return mean[r][c] === null ? "layer " + r + ": attention not traced" : "layer " + r + ", head " + c + ": mean sink mass " + fmt(mean[r][c]); },
      text: cw >= 28 ? function (r, c) { return mean[r][c] === null ? "" : fmt(mean[r][c], 2).replace(/^0/, ""); } : null,
    }));
    legend(host, ORANGE, "0", "1", "share of each head's attention that goes to its sink (attends to nothing), averaged over tokens");
  })();

  // ---- attention per layer and head ----
  var tip = document.getElementById("tooltip");
  function showTip(ev, text) {
    tip.textContent = text;
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
  }
  function hideTip() { tip.style.display = "none"; }
  function isVisible(l, t, p) {
    var pos = D.startPosition + t;
    return p <= pos && (M.layerTypes[l] !== "sliding_attention" || p > pos - M.window);
  }

  var attnLayer = 0, attnHead = 0;
  function drawHeads(l) {
    attnLayer = l;
    var host = document.getElementById("attn-heads");
    host.textContent = "";
    var a = D.attention[l];
    if (!a) { host.appendChild(el("p", { "class": "note" }, "Attention was not traced for this layer.")); return; }
    var P = a.probsBytes || (a.probsBytes = b64(a.probs)), N = a.keys;
    var W = N + 2, cell = Math.max(2, Math.min(8, Math.floor(190 / W)));
    for (var h = 0; h < NQ; h++) {
      var fig = el("figure", { "class": "head", "data-head": String(h) });
      var cv = el("canvas", { "class": "attn-head", width: String(W), height: String(T) });
      cv.style.width = W * cell + "px";
      cv.style.height = T * cell + "px";
      var ctx = cv.getContext("2d"), img = ctx.createImageData(W, T), px = img.data, sinkSum = 0;
      for (var t = 0; t < T; t++) {
        var s = a.sink[t * NQ + h];
        sinkSum += s;
        var put = function (x, rgb) { var o = (t * W + x) * 4; px[o] = rgb[0]; px[o + 1] = rgb[1]; px[o + 2] = rgb[2]; px[o + 3] = 255; };
        put(0, ramp(ORANGE, s));
        put(1, [255, 255, 255]);
        for (var p = 0; p < N; p++) put(p + 2, isVisible(l, t, p) ? ramp(BLUE, P[(t * NQ + h) * N + p] / 255) : [226, 226, 226]);
      }
      ctx.putImageData(img, 0, 0);
      fig.appendChild(cv);
      fig.appendChild(el("figcaption", {}, "head " + h + " \u00B7 kv " + Math.floor(h / (NQ / M.kvHeads)) + " \u00B7 sink " + fmt(sinkSum / T, 2)));
      fig.addEventListener("click", (function (hh) { return function () { drawFocus(hh); }; })(h));
      host.appendChild(fig);
    }
    drawFocus(Math.min(attnHead, NQ - 1));
  }

  function drawFocus(h) {
    attnHead = h;
    var l = attnLayer, a = D.attention[l], P = a.probsBytes, N = a.keys;
    document.querySelectorAll("#attn-heads figure").forEach(function (f) { f.classList.toggle("selected", Number(f.getAttribute("data-head")) === h); });
    document.getElementById("attn-focus-title").textContent = layerName(l) + ", head " + h + ": rows are queries, columns are keys; the orange column is the sink";
    var cell = Math.max(10, Math.min(22, Math.floor(820 / (N + 2)))), left = 130, top = 110;
    var cv = document.getElementById("attn-focus");
    var dpr = window.devicePixelRatio || 1, cssW = left + (N + 2) * cell + 8, cssH = top + T * cell + 8;
    cv.width = cssW * dpr; cv.height = cssH * dpr; cv.style.width = cssW + "px"; cv.style.height = cssH + "px";
    var g = cv.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#fff"; g.fillRect(0, 0, cssW, cssH);
    g.font = "11px system-ui, sans-serif"; g.fillStyle = "#333";
    g.save(); g.translate(left + cell / 2 + 3, top - 6); g.rotate(-Math.PI / 3); g.fillText("sink", 0, 0); g.restore();
    for (var p = 0; p < N; p++) {
      g.save(); g.translate(left + (p + 2) * cell + cell / 2 + 3, top - 6); g.rotate(-Math.PI / 3);
      g.fillText(p + " " + short(tokenAt(p), 9), 0, 0); g.restore();
    }
    g.textAlign = "right";
    for (var t = 0; t < T; t++) {
      g.fillStyle = "#333";
      g.fillText((D.startPosition + t) + " " + short(tokLabel(t), 14), left - 6, top + t * cell + cell / 2 + 4);
      g.fillStyle = css(ramp(ORANGE, a.sink[t * NQ + h]));
      g.fillRect(left, top + t * cell, cell - 1, cell - 1);
      for (var q = 0; q < N; q++) {
        g.fillStyle = isVisible(l, t, q) ? css(ramp(BLUE, P[(t * NQ + h) * N + q] / 255)) : "#e2e2e2";
        g.fillRect(left + (q + 2) * cell, top + t * cell, cell - 1, cell - 1);
      }
    }
    cv.onmousemove = function (ev) {
      var r = cv.getBoundingClientRect(), x = ev.clientX - r.left - left, y = ev.clientY - r.top - top;
      var t = Math.floor(y / cell), c = Math.floor(x / cell);
      if (t < 0 || t >= T || c < 0 || c === 1 || c >= N + 2) { hideTip(); return; }
      var q = "query " + (D.startPosition + t) + " \u201C" + visible(tokLabel(t)) + "\u201D";
      if (c === 0) showTip(ev, q + " \u2192 sink: " + fmt(a.sink[t * NQ + h]));
      else {
        var p = c - 2;
        showTip(ev, q + " \u2192 key " + p + " \u201C" + visible(tokenAt(p)) + "\u201D: " +
          (isVisible(l, t, p) ? "\u2248" + fmt(P[(t * NQ + h) * N + p] / 255) : "not visible (causal mask / window)"));
      }
    };
    cv.onmouseleave = hideTip;
  }
  layerSelect("attn-layer", drawHeads, layerName);

  // ---- logit lens ----
  (function () {
    var table = document.getElementById("lens-table"), top = D.lens.top;
    var thead = el("thead"), hr = el("tr");
    hr.appendChild(el("th", { "class": "stage" }, "position"));
    for (var t = 0; t < T; t++) hr.appendChild(el("th", { title: "id " + D.tokens[t] }, String(D.startPosition + t)));
    thead.appendChild(hr);
    var ir = el("tr", { "class": "input" });
    ir.appendChild(el("th", { "class": "stage" }, "input token"));
    for (var t2 = 0; t2 < T; t2++) ir.appendChild(el("th", { title: "id " + D.tokens[t2] }, short(tokLabel(t2), 12)));
    thead.appendChild(ir);
    table.appendChild(thead);
    var body = el("tbody");
    D.lens.stages.forEach(function (st) {
      var tr = el("tr");
      tr.appendChild(el("th", { "class": "stage" }, st.name));
      for (var t = 0; t < T; t++) {
        var id = st.ids[t * top], p = st.probs[t * top], alts = [];
        for (var j = 0; j < top; j++) alts.push((j + 1) + ". " + visible(lensLabel(st.ids[t * top + j])) + "  " + fmt(st.probs[t * top + j]));
        var next = t + 1 < T ? D.tokens[t + 1] : null;
        var td = el("td", { title: st.name + ", position " + (D.startPosition + t) + " predicts:\n" + alts.join("\n"), "class": id === next ? "hit" : undefined }, short(lensLabel(id), 10));
        td.style.background = css(ramp(BLUE, p));
        td.style.color = ink(ramp(BLUE, p));
        tr.appendChild(td);
      }
      body.appendChild(tr);
    });
    var nr = el("tr", { "class": "input" });
    nr.appendChild(el("th", { "class": "stage" }, "actual next"));
    for (var t3 = 0; t3 < T; t3++) nr.appendChild(el("th", {}, t3 + 1 < T ? short(tokLabel(t3 + 1), 12) : ""));
    body.appendChild(nr);
    table.appendChild(body);
    legend(document.getElementById("lens-legend"), BLUE, "0", "1", "probability of the top token; outlined cells predict the token that actually came next");
  })();
  document.body.setAttribute("data-ready", "1");
})();
`;
