"use strict";
(() => {
  // ---------- errors: shown on the page and kept for the browser test ----------
  const errors = [];
  window.__initlabErrors = errors;
  function showError(message) {
    errors.push(String(message));
    const box = document.getElementById("errors");
    box.hidden = false;
    box.textContent = errors.slice(-3).join("\n");
  }
  window.addEventListener("error", (e) => showError(e.message || "script error"));
  window.addEventListener("unhandledrejection", (e) => showError((e.reason && e.reason.message) || e.reason));

  // Okabe–Ito: distinguishable with the common colour-vision deficiencies (same order as the server's SVG).
  const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933"];
  const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];
  const SVGNS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  const params = new URLSearchParams(location.search);
  const state = {
    runs: [],               // {id, color, spec, status, done, total, layers, summary, error, source}
    scale: params.get("scale") === "linear" ? "linear" : "log",
    metric: ["std", "mean", "dead_fraction", "histogram"].includes(params.get("metric")) ? params.get("metric") : null,
    pass: params.get("pass") === "backward" ? "backward" : "forward",
    heatmap: params.get("heatmap") || null,
    heatmapPass: "forward",
    catalog: null,
  };

  // ---------- HTTP ----------
  async function api(path, options = {}) {
    const response = await fetch(path, options);
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
    if (!response.ok) {
      const problem = body || {};
      const fields = (problem.errors || []).map((e) => `${e.pointer || "(body)"}: ${e.detail}`).join("\n");
      const error = new Error((problem.detail || `${response.status} ${response.statusText}`) + (fields ? "\n" + fields : ""));
      error.status = response.status;
      throw error;
    }
    return body;
  }

  // ---------- URL state ----------
  function syncURL() {
    const q = new URLSearchParams();
    if (state.runs.length) q.set("runs", state.runs.map((r) => r.id).join(","));
    if (state.metric) q.set("metric", state.metric);
    if (state.pass !== "forward") q.set("pass", state.pass);
    if (state.scale !== "log") q.set("scale", state.scale);
    if (state.heatmap && state.runs.length > 1) q.set("heatmap", state.heatmap);
    const url = location.pathname + (q.toString() ? "?" + q.toString() : "");
    history.replaceState(null, "", url);
    $("share-link").href = url;
  }

  // ---------- the form, built from GET /v1/schemes ----------
  function fillSchemes(select, list, preferred) {
    select.innerHTML = "";
    for (const scheme of list) {
      const option = document.createElement("option");
      option.value = scheme.name;
      option.textContent = scheme.name;
      option.title = scheme.summary || "";
      select.appendChild(option);
    }
    if (list.some((s) => s.name === preferred)) select.value = preferred;
  }

  function renderParams(kind) {
    const list = kind === "init" ? state.catalog.initializers : state.catalog.activations;
    const select = $(kind === "init" ? "init-select" : "activation-select");
    const scheme = list.find((s) => s.name === select.value);
    const box = $(kind === "init" ? "init-params" : "activation-params");
    $(kind === "init" ? "init-formula" : "activation-formula").textContent = scheme ? scheme.formula : "";
    box.innerHTML = "";
    if (!scheme) return;
    for (const p of scheme.parameters || []) {
      const label = document.createElement("label");
      label.textContent = p.name;
      label.title = p.description || "";
      let input;
      if (p.allowed && p.allowed.length) {
        input = document.createElement("select");
        for (const value of p.allowed) {
          const option = document.createElement("option");
          option.value = option.textContent = value;
          input.appendChild(option);
        }
        input.value = p.default;
      } else if (p.type === "number") {
        input = document.createElement("input");
        input.type = "number";
        input.step = "any";
        if (p.minimum !== undefined && p.minimum !== null) input.min = p.minimum;
        if (p.maximum !== undefined && p.maximum !== null) input.max = p.maximum;
        input.value = p.default;
      } else {
        input = document.createElement("input");
        input.type = "text";
        input.value = p.default;
      }
      input.dataset.param = p.name;
      input.dataset.type = p.type;
      label.appendChild(input);
      box.appendChild(label);
    }
  }

  function schemeValue(kind) {
    const name = $(kind === "init" ? "init-select" : "activation-select").value;
    const value = { name };
    for (const input of $(kind === "init" ? "init-params" : "activation-params").querySelectorAll("[data-param]")) {
      value[input.dataset.param] = input.dataset.type === "number" ? Number(input.value) : input.value;
    }
    return value;
  }

  function specFromForm() {
    const form = $("spec-form");
    const number = (name) => Number(form.elements[name].value);
    return {
      depth: number("depth"), width: number("width"), batch: number("batch"), seed: number("seed"),
      histogram_bins: number("histogram_bins"), backward: form.elements.backward.checked,
      init: schemeValue("init"), activation: schemeValue("activation"),
    };
  }

  /// Puts a run's canonical spec back into the form, so a shared view starts from what it shows.
  function fillForm(spec) {
    const form = $("spec-form");
    for (const name of ["depth", "width", "batch", "seed", "histogram_bins"]) {
      if (spec[name] !== undefined && spec[name] !== null) form.elements[name].value = spec[name];
    }
    form.elements.backward.checked = spec.backward !== false;
    for (const kind of ["init", "activation"]) {
      const value = spec[kind];
      if (!value || typeof value !== "object") continue;
      const select = $(kind === "init" ? "init-select" : "activation-select");
      if (![...select.options].some((o) => o.value === value.name)) continue;
      select.value = value.name;
      renderParams(kind);
      for (const input of $(kind === "init" ? "init-params" : "activation-params").querySelectorAll("[data-param]")) {
        if (value[input.dataset.param] !== undefined) input.value = value[input.dataset.param];
      }
    }
  }

  async function submit(spec) {
    const job = await api("/v1/experiments", {
      method: "POST", headers: { "Content-Type": "application/json", "Idempotency-Key": uuid() }, body: JSON.stringify(spec),
    });
    return addRun(job.id, job);
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // ---------- runs ----------
  function nextColor() {
    const used = new Set(state.runs.map((r) => r.color));
    return PALETTE.find((c) => !used.has(c)) || PALETTE[state.runs.length % PALETTE.length];
  }

  function label(run) {
    const spec = run.spec || {};
    const name = (s) => (s && typeof s === "object" ? s.name : s) || "?";
    return `${name(spec.init)} · ${name(spec.activation)}`;
  }

  async function addRun(id, job) {
    if (state.runs.some((r) => r.id === id)) return state.runs.find((r) => r.id === id);
    const run = { id, color: nextColor(), spec: null, status: "loading", done: 0, total: 0, layers: [], summary: null, error: null, source: null, finished: null };
    run.finished = new Promise((resolve) => { run.resolve = resolve; });
    state.runs.push(run);
    if (!state.heatmap) state.heatmap = id;
    syncURL();
    renderRuns();
    try {
      job = job || await api(`/v1/experiments/${id}`);
      run.spec = job.spec;
      run.status = job.status;
      run.total = job.progress ? job.progress.layers_total : 0;
      run.done = job.progress ? job.progress.layers_done : 0;
      if (job.status === "succeeded") await loadResult(run);
      else if (job.status === "queued" || job.status === "running") follow(run);
      else finish(run, job.status, job.error);
    } catch (e) {
      finish(run, "error", e.message);
    }
    renderRuns();
    return run;
  }

  async function loadResult(run) {
    const result = await api(`/v1/experiments/${run.id}/result`);
    run.layers = result.layers;
    run.summary = result.summary;
    run.spec = result.spec;
    run.done = run.total;
    finish(run, "succeeded");
  }

  function finish(run, status, error) {
    run.status = status;
    if (error) run.error = error;
    if (run.source) { run.source.close(); run.source = null; }
    if (run.resolve) { run.resolve(run); run.resolve = null; }
    scheduleDraw();
  }

  /// Live progress over Server-Sent Events; the layers stream in as events, then `done`.
  function follow(run) {
    const source = new EventSource(`/v1/experiments/${run.id}/events`);
    run.source = source;
    // A run becomes terminal only through `done` (and its result load), never through a progress snapshot.
    const onProgress = (e) => {
      const data = JSON.parse(e.data);
      if (data.status === "queued" || data.status === "running") run.status = data.status;
      run.done = data.layers_done; run.total = data.layers_total;
      renderRuns();
      scheduleDraw();
    };
    source.addEventListener("status", onProgress);
    source.addEventListener("progress", onProgress);
    source.addEventListener("layer", (e) => {
      const layer = JSON.parse(e.data);
      if (!run.layers.some((l) => l.index === layer.index)) run.layers.push(layer);
      scheduleDraw();
    });
    source.addEventListener("done", async (e) => {
      source.close();
      run.source = null;
      const data = JSON.parse(e.data);
      if (data.status === "succeeded") {
        try { await loadResult(run); } catch (err) { finish(run, "error", err.message); }
      } else {
        finish(run, data.status, data.error);
      }
      renderRuns();
    });
    source.onerror = () => {
      // EventSource reconnects by itself (resuming with Last-Event-ID); only report a closed stream.
      if (source.readyState === EventSource.CLOSED && run.source === source) finish(run, "error", "event stream closed");
    };
  }

  function removeRun(id) {
    const run = state.runs.find((r) => r.id === id);
    if (run && run.source) run.source.close();
    state.runs = state.runs.filter((r) => r.id !== id);
    if (state.heatmap === id) state.heatmap = state.runs.length ? state.runs[0].id : null;
    syncURL();
    renderRuns();
    scheduleDraw();
  }

  function renderRuns() {
    const list = $("runs");
    list.innerHTML = "";
    if (!state.runs.length) {
      list.innerHTML = '<li class="empty">No runs yet: run one, or open a shared link.</li>';
    }
    for (const run of state.runs) {
      const li = document.createElement("li");
      li.style.setProperty("--c", run.color);
      li.dataset.run = run.id;
      li.dataset.status = run.status;
      const spec = run.spec || {};
      const pct = run.total ? Math.round((100 * run.done) / run.total) : (run.status === "succeeded" ? 100 : 0);
      li.innerHTML = `<button class="remove" title="Remove from view" aria-label="Remove run">×</button>
        <div class="name"></div>
        <div class="meta"></div>
        <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${pct}"><div style="width:${pct}%"></div></div>
        <div class="files"></div>`;
      li.querySelector(".name").textContent = label(run);
      li.querySelector(".meta").textContent =
        `depth ${spec.depth ?? "?"} · width ${spec.width ?? "?"} · seed ${spec.seed ?? "?"} · ${run.status}` +
        (run.total && run.status !== "succeeded" ? ` ${run.done}/${run.total}` : "") + (run.error ? ` — ${run.error}` : "");
      if (run.status === "succeeded") {
        const files = li.querySelector(".files");
        for (const [text, href] of [["JSON", `/v1/experiments/${run.id}/result`], ["CSV", `/v1/experiments/${run.id}/result.csv`], ["SVG", `/v1/experiments/${run.id}/plot.svg`]]) {
          const a = document.createElement("a");
          a.href = href; a.textContent = text;
          files.appendChild(a);
        }
      }
      li.querySelector(".remove").addEventListener("click", () => removeRun(run.id));
      list.appendChild(li);
    }
    const select = $("heatmap-select");
    select.innerHTML = "";
    for (const run of state.runs) {
      const option = document.createElement("option");
      option.value = run.id;
      option.textContent = label(run);
      select.appendChild(option);
    }
    if (state.heatmap) select.value = state.heatmap;
  }

  // ---------- numbers ----------
  function fmt(v) {
    if (v === null || v === undefined) return "inf/NaN";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace("e+", "e");
    return String(Number(v.toPrecision(4)));
  }

  function statsOf(layer, pass) {
    return pass === "forward" ? layer.forward && layer.forward.activation : layer.backward && layer.backward.activation_grad;
  }

  function seriesFor(run, metric, pass) {
    const layers = [...run.layers].sort((a, b) => a.index - b.index);
    let firstBad = null;
    const points = layers.map((l) => {
      const s = statsOf(l, pass);
      const v = s ? s[metric] : undefined;
      if (s && firstBad === null && ((s.nonfinite_fraction === null) || s.nonfinite_fraction > 0 || v === null)) firstBad = l.index;
      return [l.index, (typeof v === "number" && isFinite(v)) ? v : null];
    });
    const hasStats = layers.some((l) => statsOf(l, pass));
    const out = [];
    if (hasStats) out.push({ label: label(run), color: run.color, kind: "measured", points, firstBad, run: run.id });
    if (metric === "std" && hasStats) {
      const key = pass === "forward" ? "predicted_activation_std" : "predicted_activation_grad_std";
      const theory = layers.map((l) => [l.index, l.theory && typeof l.theory[key] === "number" ? l.theory[key] : null]);
      if (theory.some((p) => p[1] !== null)) out.push({ label: label(run) + " (theory)", color: run.color, kind: "theory", points: theory, run: run.id });
    }
    return out;
  }

  // ---------- SVG line chart ----------
  function el(name, attrs, parent) {
    const node = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceStep(raw) {
    if (!(raw > 0) || !isFinite(raw)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function lineChart(container, { series, scale, yTitle, fixed }) {
    container.innerHTML = "";
    const W = 560, H = 300, L = 62, R = 14, T = 14, B = 44;
    const finite = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v !== null && (scale !== "log" || v > 0));
    if (!series.length || !finite.length) {
      const note = document.createElement("div");
      note.className = "empty";
      note.textContent = series.length ? "No finite values to draw." : (state.runs.length ? "Waiting for results…" : "Run an experiment to see this chart.");
      container.appendChild(note);
      return;
    }
    const depth = Math.max(2, ...series.flatMap((s) => s.points.map((p) => p[0])));
    let y0, y1, ticks;
    if (scale === "log") {
      y0 = Math.floor(Math.log10(Math.min(...finite)));
      y1 = Math.ceil(Math.log10(Math.max(...finite)));
      if (y0 === y1) { y0 -= 1; y1 += 1; }
      const every = Math.max(1, Math.ceil((y1 - y0) / 6));
      ticks = [];
      for (let e = y0; e <= y1; e += every) ticks.push([e, e >= -2 && e <= 3 ? String(Math.pow(10, e)).replace(/^0\.0*1$/, (m) => m) : `1e${e}`]);
    } else {
      if (fixed) { const pad = (fixed[1] - fixed[0]) * 0.03; y0 = fixed[0] - pad; y1 = fixed[1] + pad; } else {
        y0 = Math.min(...finite); y1 = Math.max(...finite);
        if (y0 === y1) { y0 -= Math.abs(y0) || 1; y1 += Math.abs(y1) || 1; }
        const step0 = niceStep((y1 - y0) / 5);
        y0 = Math.floor(y0 / step0) * step0; y1 = Math.ceil(y1 / step0) * step0;
      }
      const step = fixed ? niceStep((fixed[1] - fixed[0]) / 5) : niceStep((y1 - y0) / 5);
      ticks = [];
      for (let v = Math.ceil(y0 / step) * step; v <= y1 + step * 1e-9; v += step) ticks.push([v, fmt(Math.abs(v) < step * 1e-9 ? 0 : v)]);
    }
    const xPos = (layer) => L + ((layer - 1) / (depth - 1)) * (W - L - R);
    const yPos = (v) => {
      if (v === null || !isFinite(v)) return null;
      if (scale === "log") { if (v <= 0) return null; return T + (1 - (Math.log10(v) - y0) / (y1 - y0)) * (H - T - B); }
      return T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
    };
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": yTitle, "font-size": "12" });
    const clipId = "clip" + Math.random().toString(36).slice(2);
    const defs = el("defs", {}, svg);
    el("rect", { x: L - 3, y: T - 3, width: W - L - R + 6, height: H - T - B + 6 }, el("clipPath", { id: clipId }, defs));
    for (const [v, text] of ticks) {
      const y = scale === "log" ? T + (1 - (v - y0) / (y1 - y0)) * (H - T - B) : yPos(v);
      el("line", { x1: L, x2: W - R, y1: y, y2: y, stroke: "#d8dee4" }, svg);
      el("text", { x: L - 6, y: y + 4, "text-anchor": "end", fill: "#1f2328" }, svg).textContent = text;
    }
    const xStep = niceStep((depth - 1) / 8);
    for (let x = xStep >= 1 ? Math.max(1, xStep) : 1; x <= depth; x += Math.max(1, xStep)) {
      el("line", { x1: xPos(x), x2: xPos(x), y1: H - B, y2: H - B + 5, stroke: "#57606a" }, svg);
      el("text", { x: xPos(x), y: H - B + 18, "text-anchor": "middle", fill: "#1f2328" }, svg).textContent = x;
    }
    el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#8c959f" }, svg);
    el("text", { x: L + (W - L - R) / 2, y: H - 6, "text-anchor": "middle", fill: "#3d444d", "font-size": "13" }, svg).textContent = "layer";
    el("text", { transform: `translate(14 ${T + (H - T - B) / 2}) rotate(-90)`, "text-anchor": "middle", fill: "#3d444d", "font-size": "13" }, svg).textContent = yTitle;
    const plot = el("g", { "clip-path": `url(#${clipId})` }, svg);
    for (const s of series) {
      let d = "", pen = false;
      const pts = s.points;
      pts.forEach(([layer, v], i) => {
        const y = yPos(v);
        if (y === null) { pen = false; return; }
        d += (pen ? "L" : "M") + xPos(layer).toFixed(1) + " " + y.toFixed(1);
        pen = true;
        const lonely = (i === 0 || yPos(pts[i - 1][1]) === null) && (i === pts.length - 1 || yPos(pts[i + 1][1]) === null);
        if (lonely) el("circle", { cx: xPos(layer), cy: y, r: 2.5, fill: s.color }, plot);
      });
      const attrs = { d: d || "M0 0", fill: "none", stroke: s.color, "stroke-width": s.kind === "theory" ? 1.6 : 2.2, "stroke-linejoin": "round", "data-series": s.label, "data-kind": s.kind };
      if (s.kind === "theory") attrs["stroke-dasharray"] = "6 4";
      el("path", attrs, plot);
    }
    let row = 0;
    for (const s of series) {
      if (s.kind !== "measured" || s.firstBad === null || s.firstBad === undefined) continue;
      const x = xPos(s.firstBad);
      el("line", { x1: x, x2: x, y1: T, y2: H - B, stroke: s.color, "stroke-dasharray": "2 3", "data-nonfinite-from": s.firstBad }, svg);
      const right = x > W - 170;
      el("text", { x: right ? x - 4 : x + 4, y: T + 14 + 14 * row++, fill: s.color, "font-size": "11", "text-anchor": right ? "end" : "start" }, svg).textContent = `inf/NaN from layer ${s.firstBad}`;
    }
    // Hover: the values of every series at the nearest layer.
    const cursor = el("line", { y1: T, y2: H - B, stroke: "#8c959f", visibility: "hidden" }, svg);
    const hit = el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "transparent" }, svg);
    const tip = $("tooltip");
    hit.addEventListener("mousemove", (e) => {
      const box = svg.getBoundingClientRect();
      const sx = ((e.clientX - box.left) / box.width) * W;
      const layer = Math.min(depth, Math.max(1, Math.round(1 + ((sx - L) / (W - L - R)) * (depth - 1))));
      cursor.setAttribute("x1", xPos(layer)); cursor.setAttribute("x2", xPos(layer)); cursor.setAttribute("visibility", "visible");
      const lines = [`layer ${layer}`];
      for (const s of series) {
        const p = s.points.find((q) => q[0] === layer);
        if (p) lines.push(`${s.label}: ${fmt(p[1])}`);
      }
      tip.textContent = lines.join("\n");
      tip.hidden = false;
      tip.style.left = Math.min(window.innerWidth - 260, e.clientX + 14) + "px";
      tip.style.top = e.clientY + 14 + "px";
    });
    hit.addEventListener("mouseleave", () => { tip.hidden = true; cursor.setAttribute("visibility", "hidden"); });
    container.appendChild(svg);
    // Legend as HTML: wraps nicely, readable at any width.
    const legend = document.createElement("div");
    legend.className = "legend";
    for (const s of series) {
      const item = document.createElement("span");
      item.innerHTML = `<svg width="26" height="10" aria-hidden="true"><line x1="0" x2="26" y1="5" y2="5" stroke="${s.color}" stroke-width="${s.kind === "theory" ? 1.6 : 2.5}" ${s.kind === "theory" ? 'stroke-dasharray="6 4"' : ""}/></svg>`;
      item.appendChild(document.createTextNode(s.label));
      legend.appendChild(item);
    }
    container.appendChild(legend);
  }

  // ---------- heat map ("colorful dimension") ----------
  function viridis(t) {
    const pos = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(pos)), f = pos - i;
    const a = VIRIDIS[i], b = VIRIDIS[i + 1];
    const ch = (h, k) => parseInt(h.slice(1 + 2 * k, 3 + 2 * k), 16);
    return "rgb(" + [0, 1, 2].map((k) => Math.round(ch(a, k) * (1 - f) + ch(b, k) * f)).join(",") + ")";
  }

  function heatMap(container, run, pass) {
    container.innerHTML = "";
    const layers = run ? [...run.layers].sort((a, b) => a.index - b.index) : [];
    const histograms = layers.map((l) => { const s = statsOf(l, pass); return s && s.histogram; });
    if (!run || !histograms.some((h) => h)) {
      const note = document.createElement("div");
      note.className = "empty";
      note.textContent = run ? (run.status === "succeeded" ? `No ${pass} histograms in this run.` : "Waiting for results…") : "Run an experiment to see this chart.";
      container.appendChild(note);
      return;
    }
    const stride = Math.max(1, Math.ceil(layers.length / 200));
    const cols = [];
    for (let i = 0; i < layers.length; i += stride) cols.push(i);
    const bins = Math.max(...histograms.map((h) => (h ? h.counts.length : 0)));
    const max = Math.max(1, ...histograms.map((h) => (h ? Math.max(...h.counts) : 0)));
    const W = 1100, H = 300, L = 62, R = 70, T = 10, B = 44;
    const cw = (W - L - R) / cols.length, rh = (H - T - B) / bins;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `histogram heat map, ${pass}`, "font-size": "12", "shape-rendering": "crispEdges" });
    el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "#ffffff", stroke: "#8c959f" }, svg);
    cols.forEach((li, c) => {
      const h = histograms[li];
      const g = el("g", { "data-layer": layers[li].index }, svg);
      el("title", {}, g).textContent = h ? `layer ${layers[li].index}: [${fmt(h.low)}, ${fmt(h.high)}]` : `layer ${layers[li].index}: inf/NaN`;
      if (!h) { el("rect", { x: L + c * cw, y: T, width: cw, height: H - T - B, fill: "#eee" }, g); return; }
      h.counts.forEach((n, b) => {
        if (n <= 0) return;
        const t = max > 1 ? Math.log(n) / Math.log(max) : 1;
        el("rect", { x: L + c * cw, y: T + (bins - b - 1) * rh, width: cw + 0.4, height: rh + 0.4, fill: viridis(t) }, g);
      });
    });
    const xStep = Math.max(1, niceStep(layers.length / 10));
    for (let x = xStep >= 1 ? xStep : 1; x <= layers.length; x += xStep) {
      const c = (x - 1) / stride;
      const px = L + (c + 0.5) * cw;
      el("line", { x1: px, x2: px, y1: H - B, y2: H - B + 5, stroke: "#57606a" }, svg);
      el("text", { x: px, y: H - B + 18, "text-anchor": "middle", fill: "#1f2328" }, svg).textContent = x;
    }
    for (const [text, f] of [["low", 0], ["mid", 0.5], ["high", 1]]) {
      el("text", { x: L - 6, y: T + (1 - f) * (H - T - B) + 4, "text-anchor": "end", fill: "#1f2328" }, svg).textContent = text;
    }
    el("text", { x: L + (W - L - R) / 2, y: H - 6, "text-anchor": "middle", fill: "#3d444d", "font-size": "13" }, svg).textContent = "layer";
    el("text", { transform: `translate(14 ${T + (H - T - B) / 2}) rotate(-90)`, "text-anchor": "middle", fill: "#3d444d", "font-size": "13" }, svg).textContent = `bin (${bins}, layer's own range)`;
    const grad = el("linearGradient", { id: "vir", x1: 0, y1: 1, x2: 0, y2: 0 }, el("defs", {}, svg));
    VIRIDIS.forEach((c, i) => el("stop", { offset: i / (VIRIDIS.length - 1), "stop-color": c }, grad));
    el("rect", { x: W - R + 14, y: T, width: 14, height: H - T - B, fill: "url(#vir)" }, svg);
    el("text", { x: W - R + 32, y: T + 10, fill: "#1f2328", "font-size": "11" }, svg).textContent = String(max);
    el("text", { x: W - R + 32, y: H - B, fill: "#1f2328", "font-size": "11" }, svg).textContent = "1";
    el("text", { transform: `translate(${W - R + 50} ${T + (H - T - B) / 2}) rotate(90)`, "text-anchor": "middle", fill: "#3d444d", "font-size": "11" }, svg).textContent = "count (log)";
    container.appendChild(svg);
  }

  // ---------- verdicts ----------
  function renderVerdicts() {
    const box = $("verdicts");
    box.innerHTML = "";
    for (const run of state.runs) {
      const card = document.createElement("div");
      card.className = "verdict";
      card.style.setProperty("--c", run.color);
      card.dataset.run = run.id;
      const s = run.summary;
      const tag = (v) => `<span class="tag ${v || "none"}">${v || "—"}</span>`;
      if (!s) {
        card.innerHTML = `<h3></h3><div>${run.status === "succeeded" ? "" : run.status + (run.total ? ` (${run.done}/${run.total} layers)` : "")}</div>`;
      } else {
        const g = (x) => (x === null || x === undefined ? "—" : "×" + fmt(x) + "/layer");
        const theory = s.theory || {};
        card.innerHTML = `<h3></h3>
          <div>forward ${tag(s.forward_verdict)} ${g(s.forward_growth_factor)}</div>
          <div>backward ${tag(s.backward_verdict)} ${g(s.backward_growth_factor)}</div>
          <div class="meta">theory: χ₁ = ${fmt(theory.chi1)}, ${theory.regime || "—"}${theory.depth_scale ? `, depth scale ${fmt(theory.depth_scale)}` : ""}</div>
          ${s.first_nonfinite_layer ? `<div>inf/NaN from layer ${s.first_nonfinite_layer}</div>` : ""}
          ${s.first_vanished_layer ? `<div>vanished from layer ${s.first_vanished_layer}</div>` : ""}`;
      }
      card.querySelector("h3").textContent = label(run);
      box.appendChild(card);
    }
  }

  // ---------- drawing ----------
  let drawPending = false;
  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => { drawPending = false; draw(); });
  }

  function draw() {
    const runs = state.runs;
    const all = (metric, pass) => runs.flatMap((r) => seriesFor(r, metric, pass));
    lineChart($("chart-std-forward"), { series: all("std", "forward"), scale: state.scale, yTitle: `std (${state.scale})` });
    lineChart($("chart-std-backward"), { series: all("std", "backward"), scale: state.scale, yTitle: `gradient std (${state.scale})` });
    lineChart($("chart-mean-forward"), { series: all("mean", "forward"), scale: "linear", yTitle: "mean" });
    lineChart($("chart-dead-forward"), { series: all("dead_fraction", "forward"), scale: "linear", yTitle: "dead fraction", fixed: [0, 1] });
    const run = runs.find((r) => r.id === state.heatmap) || runs[0];
    $("heatmap-caption").textContent = `Histogram per layer ("colorful dimension"): ${run ? label(run) : "—"}, ${state.heatmapPass} — x = layer, y = bin, colour = log count`;
    heatMap($("chart-heatmap"), run, state.heatmapPass);
    renderVerdicts();
    for (const card of document.querySelectorAll(".card")) {
      card.classList.toggle("focus", !!state.metric && card.dataset.metric === state.metric && (!card.dataset.pass || card.dataset.pass === state.pass || state.metric !== "std"));
    }
    document.body.dataset.drawn = String(runs.filter((r) => r.status === "succeeded" && r.summary).length);
  }

  // ---------- wiring ----------
  async function start() {
    $("scale-select").value = state.scale;
    $("scale-select").addEventListener("change", (e) => { state.scale = e.target.value; syncURL(); scheduleDraw(); });
    $("heatmap-select").addEventListener("change", (e) => { state.heatmap = e.target.value; syncURL(); scheduleDraw(); });
    $("heatmap-pass").addEventListener("change", (e) => { state.heatmapPass = e.target.value; scheduleDraw(); });
    try {
      state.catalog = await api("/v1/schemes");
      fillSchemes($("init-select"), state.catalog.initializers, "kaiming_normal");
      fillSchemes($("activation-select"), state.catalog.activations, "relu");
      renderParams("init");
      renderParams("activation");
      $("init-select").addEventListener("change", () => renderParams("init"));
      $("activation-select").addEventListener("change", () => renderParams("activation"));
    } catch (e) {
      $("form-message").textContent = "Could not load the scheme catalog: " + e.message;
    }
    $("spec-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = $("run-button");
      button.disabled = true;
      $("form-message").textContent = "";
      try { await submit(specFromForm()); } catch (err) { $("form-message").textContent = err.message; }
      finally { button.disabled = false; }
    });
    $("lesson-button").addEventListener("click", async () => {
      $("form-message").textContent = "";
      const base = specFromForm();
      try {
        for (const init of ["xavier_normal", "kaiming_normal"]) {
          await submit({ ...base, init: { name: init }, activation: { name: "relu" } });
        }
      } catch (err) { $("form-message").textContent = err.message; }
    });
    const ids = (params.get("runs") || "").split(",").map((s) => s.trim()).filter((s) => /^[0-9a-f-]{36}$/.test(s));
    // `?sweep=id` opens every experiment of a sweep (POST /v1/sweeps); the URL then lists them as runs.
    const sweep = params.get("sweep");
    if (sweep && /^[0-9a-f-]{36}$/.test(sweep)) {
      try {
        const body = await api(`/v1/sweeps/${sweep}`);
        for (const e of body.experiments) if (!ids.includes(e.id) && e.status !== "pruned") ids.push(e.id);
      } catch (e) { $("form-message").textContent = "Could not load the sweep: " + e.message; }
    }
    await Promise.all(ids.map((id) => addRun(id)));
    const first = state.runs.find((r) => r.spec);
    if (first && state.catalog) fillForm(first.spec);
    syncURL();
    scheduleDraw();
    if (params.get("selftest") === "1") selfTest();
  }

  /// `?selftest=1`: run two tiny experiments through the real UI path and mark the DOM for a headless check.
  async function selfTest() {
    const marker = document.createElement("output");
    marker.id = "selftest";
    marker.textContent = "running";
    document.body.appendChild(marker);
    try {
      const form = $("spec-form");
      form.elements.depth.value = 12; form.elements.width.value = 32; form.elements.batch.value = 16; form.elements.histogram_bins.value = 20;
      $("lesson-button").click();
      const deadline = Date.now() + 60000;
      while (Date.now() < deadline && !(state.runs.length >= 2 && state.runs.every((r) => r.status === "succeeded"))) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const paths = document.querySelectorAll("#chart-std-forward path[data-kind=measured]").length;
      marker.textContent = paths === 2 && errors.length === 0 ? "pass" : `fail: ${paths} measured paths, errors: ${errors.join("; ")}`;
    } catch (e) {
      marker.textContent = "fail: " + e.message;
    }
  }

  start();
})();