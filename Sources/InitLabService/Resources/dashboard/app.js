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
  /// A white outline under a label drawn over the curves, so that it stays legible.
  const HALO = { stroke: "#ffffff", "stroke-width": 3, "stroke-linejoin": "round", "paint-order": "stroke" };
  const $ = (id) => document.getElementById(id);

  const params = new URLSearchParams(location.search);
  const state = {
    runs: [],               // {id, color, spec, status, unit, done, total, layers, summary, training, error, source}
    scale: params.get("scale") === "linear" ? "linear" : "log",
    metric: ["std", "mean", "dead_fraction", "histogram"].includes(params.get("metric")) ? params.get("metric") : null,
    pass: params.get("pass") === "backward" ? "backward" : "forward",
    heatmap: params.get("heatmap") || null,
    heatmapPass: "forward",
    lossScale: params.get("loss") === "linear" ? "linear" : "log",
    layer: params.get("layer") ? Number(params.get("layer")) : null,
    catalog: null,
    datasets: {},           // name → cached, from GET /v1/datasets
    sweep: null,            // the sweep this view was opened with (`?sweep=`), for its overlay chart's link
  };

  /// The form's message line: an error (red), or a note (amber) that something ran other than asked.
  function say(text, note = false) {
    const box = $("form-message");
    box.textContent = text;
    box.classList.toggle("note", note);
  }

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
    if (state.lossScale !== "log") q.set("loss", state.lossScale);
    if (state.layer) q.set("layer", state.layer);
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
    const architecture = architectureFromForm();
    return {
      depth: number("depth"), width: number("width"), batch: number("batch"), seed: number("seed"),
      histogram_bins: number("histogram_bins"), backward: form.elements.backward.checked,
      init: schemeValue("init"), activation: schemeValue("activation"),
      ...(architecture === undefined ? {} : { architecture }),
      ...(form.elements.train.checked ? { train: trainFromForm() } : {}),
    };
  }

  /// The architecture field: empty (the server's default, mlp), a name, or a JSON object (a cnn's conv stack).
  /// Text that starts like JSON but does not parse is sent as it is, so the server's 422 names the field.
  function architectureFromForm() {
    const text = $("spec-form").elements.architecture.value.trim();
    if (!text) return undefined;
    if (text.startsWith("{")) {
      try { return JSON.parse(text); } catch { return text; }
    }
    return text;
  }

  /// The form's `train` block (TrainSpec); its batch is the network's batch, as the server requires.
  function trainFromForm() {
    const f = $("spec-form").elements;
    const optimizer = { name: f.optimizer.value, lr: Number(f.lr.value) };
    if (f.optimizer.value === "sgd" && Number(f.momentum.value) > 0) optimizer.momentum = Number(f.momentum.value);
    return { dataset: f.dataset.value, steps: Number(f.steps.value), optimizer, schedule: f.schedule.value,
      eval_every: Number(f.eval_every.value), stats_every: Number(f.stats_every.value) };
  }

  function showTrainFields() {
    const f = $("spec-form").elements;
    $("train-fields").hidden = !f.train.checked;
    f.momentum.disabled = f.optimizer.value !== "sgd";
  }

  /// Puts a run's canonical spec back into the form, so a shared view starts from what it shows.
  function fillForm(spec) {
    const form = $("spec-form");
    for (const name of ["depth", "width", "batch", "seed", "histogram_bins"]) {
      if (spec[name] !== undefined && spec[name] !== null) form.elements[name].value = spec[name];
    }
    form.elements.backward.checked = spec.backward !== false;
    const arch = spec.architecture;
    form.elements.architecture.value = !arch || arch === "mlp" || arch.name === "mlp" ? "" : (typeof arch === "string" ? arch : JSON.stringify(arch));
    const t = spec.train;
    form.elements.train.checked = !!t;
    if (t) {
      const name = (v) => (v && typeof v === "object" ? v.name : v);
      for (const key of ["dataset", "steps", "eval_every", "stats_every"]) if (t[key] !== undefined && t[key] !== null) form.elements[key].value = t[key];
      if (name(t.optimizer)) form.elements.optimizer.value = name(t.optimizer);
      if (t.optimizer && typeof t.optimizer === "object") {
        if (t.optimizer.lr) form.elements.lr.value = t.optimizer.lr;
        form.elements.momentum.value = t.optimizer.momentum || 0;
      }
      if ([...form.elements.schedule.options].some((o) => o.value === name(t.schedule))) form.elements.schedule.value = name(t.schedule);
    }
    showTrainFields();
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

  /// A scheme's name with the parameters that differ from the catalog's defaults: "normal (std 0.01)".
  function schemeLabel(kind, value) {
    if (!value || typeof value !== "object") return value || "?";
    const list = state.catalog ? (kind === "init" ? state.catalog.initializers : state.catalog.activations) : [];
    const scheme = list.find((s) => s.name === value.name);
    const changed = ((scheme && scheme.parameters) || [])
      .filter((p) => value[p.name] !== undefined && value[p.name] !== null && String(value[p.name]) !== String(p.default))
      .map((p) => `${p.name} ${value[p.name]}`);
    return changed.length ? `${value.name} (${changed.join(", ")})` : value.name;
  }

  function label(run) {
    const spec = run.spec || {};
    return `${schemeLabel("init", spec.init)} · ${schemeLabel("activation", spec.activation)}`;
  }

  /// A job's progress counts layers (init-time) or optimizer steps (training).
  function applyProgress(run, p) {
    if (!p) return;
    if (p.steps_total !== undefined) { run.unit = "steps"; run.done = p.steps_done; run.total = p.steps_total; }
    else if (p.layers_total !== undefined) { run.unit = "layers"; run.done = p.layers_done; run.total = p.layers_total; }
  }

  async function addRun(id, job) {
    if (state.runs.some((r) => r.id === id)) return state.runs.find((r) => r.id === id);
    const run = { id, color: nextColor(), spec: null, status: "loading", unit: "layers", done: 0, total: 0, layers: [], summary: null, training: null, events: 0, error: null, source: null, finished: null };
    run.finished = new Promise((resolve) => { run.resolve = resolve; });
    state.runs.push(run);
    if (!state.heatmap) state.heatmap = id;
    syncURL();
    renderRuns();
    try {
      job = job || await api(`/v1/experiments/${id}`);
      run.spec = job.spec;
      run.status = job.status;
      applyProgress(run, job.progress);
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
    run.training = result.training || null;
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

  /// Live progress over Server-Sent Events; the layers (and a training run's evaluations and statistics
  /// snapshots) stream in as events, then `done`.
  function follow(run) {
    const source = new EventSource(`/v1/experiments/${run.id}/events`);
    run.source = source;
    // A run becomes terminal only through `done` (and its result load), never through a progress snapshot.
    const onProgress = (e) => {
      const data = JSON.parse(e.data);
      if (data.status === "queued" || data.status === "running") run.status = data.status;
      applyProgress(run, data);
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
    // Training: each evaluation and snapshot once (a resumed stream may replay none, never one twice).
    for (const [event, key] of [["eval", "evals"], ["snapshot", "snapshots"]]) {
      source.addEventListener(event, (e) => {
        const point = JSON.parse(e.data);
        const list = trainingOf(run)[key];
        if (!list.some((p) => p.step === point.step)) list.push(point);
        run.events++;
        scheduleDraw();
      });
    }
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
      li.dataset.events = run.events;
      const train = spec.train ? ` · ${spec.train.dataset}, ${spec.train.steps} steps` : "";
      const archName = spec.architecture && (spec.architecture.name || spec.architecture);
      const arch = archName === "cnn" ? ` · cnn (${(spec.architecture.conv || []).length} conv)` : archName === "residual" ? " · residual" : "";
      li.querySelector(".meta").textContent =
        `depth ${spec.depth ?? "?"} · width ${spec.width ?? "?"} · batch ${spec.batch ?? "?"} · seed ${spec.seed ?? "?"}${arch}${train} · ${run.status}` +
        (run.total && run.status !== "succeeded" ? ` ${run.done}/${run.total} ${run.unit}` : "") + (run.error ? ` — ${run.error}` : "");
      if (run.status === "succeeded") {
        const files = li.querySelector(".files");
        for (const [text, href] of [["JSON", `/v1/experiments/${run.id}/result`], ["CSV", `/v1/experiments/${run.id}/result.csv`], ["SVG", `/v1/experiments/${run.id}/plot.svg`]]) {
          const a = document.createElement("a");
          a.href = href; a.textContent = text;
          files.appendChild(a);
        }
        const curves = curveLinks(run);
        if (curves.length) {
          const line = document.createElement("div");
          line.className = "files curves";
          line.textContent = "curves: ";
          for (const link of curves) {
            const a = document.createElement("a");
            a.href = link.href; a.textContent = link.short; a.title = link.title; a.dataset.export = link.kind;
            line.appendChild(a);
          }
          files.after(line);
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

  /// As the server's CSV and plot.svg write it (LayerShape.label).
  function shapeLabel(shape) {
    const dims = (d) => d.join("×");
    return `${shape.kind} ${dims(shape.output)}` + (shape.pooled ? ` → pool ${dims(shape.pooled)}` : "");
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
    // A cnn layer's kind and shape, for the hover: "conv 8×26×26 → pool 8×13×13".
    const shapes = {};
    for (const l of layers) if (l.shape) shapes[l.index] = shapeLabel(l.shape);
    const out = [];
    if (hasStats) out.push({ label: label(run), color: run.color, kind: "measured", points, firstBad, run: run.id, shapes });
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

  /// Min and max without spreading (a long training's points would overflow the argument list).
  const minOf = (a) => a.reduce((m, v) => (v < m ? v : m), Infinity);
  const maxOf = (a) => a.reduce((m, v) => (v > m ? v : m), -Infinity);

  /// Round values from lo to hi, about `count` intervals apart.
  function niceTicks(lo, hi, count) {
    const step = niceStep((hi - lo) / count), out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }

  function niceStep(raw) {
    if (!(raw > 0) || !isFinite(raw)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  /// The one line chart: x = layer (init-time statistics) or x = step (training); y linear or log. Series styles:
  /// measured (solid), theory (dashed), eval (dashed with dots). `refs` are labelled horizontal reference lines;
  /// values above `clampMax` leave the plot through its top edge (a diverging loss must not flatten the others).
  function lineChart(container, { series, scale, yTitle, fixed, xTitle = "layer", xMin = null, xMax = null, width = 560, refs = [], clampMax = null, legend = null }) {
    container.innerHTML = "";
    const W = width, H = 300, L = 62, R = 14, T = 14, B = 44;
    const values = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v !== null && (scale !== "log" || v > 0));
    if (!series.length || !values.length) {
      const note = document.createElement("div");
      note.className = "empty";
      note.textContent = series.length ? "No finite values to draw." : (state.runs.length ? "Waiting for results…" : "Run an experiment to see this chart.");
      container.appendChild(note);
      return;
    }
    const clipped = clampMax !== null && values.some((v) => v > clampMax);
    const finite = (clipped ? values.filter((v) => v <= clampMax).concat([clampMax]) : values)
      .concat(refs.map((r) => r.y).filter((v) => scale !== "log" || v > 0));
    const xs = series.flatMap((s) => s.points.map((p) => p[0]));
    const x0 = xMin ?? minOf(xs), x1 = Math.max(x0 + 1, xMax ?? -Infinity, maxOf(xs));
    let y0, y1, ticks;
    if (scale === "log") {
      const lo = Math.log10(minOf(finite)), hi = Math.log10(maxOf(finite));
      ticks = [];
      if (hi - lo >= 2) {
        // Many decades: the axis spans whole decades, ticked every decade or every few.
        y0 = Math.floor(lo); y1 = Math.ceil(hi);
        const every = Math.max(1, Math.ceil((y1 - y0) / 6));
        for (let e = y0; e <= y1; e += every) ticks.push([e, e >= -2 && e <= 3 ? String(Math.pow(10, e)).replace(/^0\.0*1$/, (m) => m) : `1e${e}`]);
      } else {
        // Less than two decades (a loss between 0.3 and 3): the data's own range, ticked at 1, 2, 5 × 10^e.
        const pad = Math.max(0.05, (hi - lo) * 0.06);
        y0 = lo - pad; y1 = hi + pad;
        const marks = hi - lo < 0.6 ? [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9] : hi - lo < 1.2 ? [1, 1.5, 2, 3, 5, 7] : [1, 2, 5];
        for (let e = Math.floor(y0); e <= Math.ceil(y1); e++) {
          for (const m of marks) {
            const v = Math.log10(m) + e;
            if (v >= y0 && v <= y1) ticks.push([v, fmt(m * Math.pow(10, e))]);
          }
        }
      }
    } else {
      if (fixed) { const pad = (fixed[1] - fixed[0]) * 0.03; y0 = fixed[0] - pad; y1 = fixed[1] + pad; } else {
        y0 = minOf(finite); y1 = maxOf(finite);
        if (y0 === y1) { y0 -= Math.abs(y0) || 1; y1 += Math.abs(y1) || 1; }
        const step0 = niceStep((y1 - y0) / 5);
        y0 = Math.floor(y0 / step0) * step0; y1 = Math.ceil(y1 / step0) * step0;
      }
      const step = fixed ? niceStep((fixed[1] - fixed[0]) / 5) : niceStep((y1 - y0) / 5);
      ticks = [];
      for (let v = Math.ceil(y0 / step) * step; v <= y1 + step * 1e-9; v += step) ticks.push([v, fmt(Math.abs(v) < step * 1e-9 ? 0 : v)]);
    }
    const xPos = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
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
    const xStep = Math.max(1, niceStep((x1 - x0) / (W > 700 ? 12 : 8)));
    for (let x = Math.ceil(x0 / xStep) * xStep; x <= x1; x += xStep) {
      el("line", { x1: xPos(x), x2: xPos(x), y1: H - B, y2: H - B + 5, stroke: "#57606a" }, svg);
      el("text", { x: xPos(x), y: H - B + 18, "text-anchor": "middle", fill: "#1f2328" }, svg).textContent = x;
    }
    el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#8c959f" }, svg);
    el("text", { x: L + (W - L - R) / 2, y: H - 6, "text-anchor": "middle", fill: "#3d444d", "font-size": "13" }, svg).textContent = xTitle;
    el("text", { transform: `translate(14 ${T + (H - T - B) / 2}) rotate(-90)`, "text-anchor": "middle", fill: "#3d444d", "font-size": "13" }, svg).textContent = yTitle;
    for (const ref of refs) {
      const y = yPos(ref.y);
      if (y !== null) el("line", { x1: L, x2: W - R, y1: y, y2: y, stroke: "#3d444d", "stroke-width": 1.3, "stroke-dasharray": "2 3", "data-ref": ref.y }, svg);
    }
    const style = (s) => ({
      width: s.width || (s.kind === "theory" ? 1.6 : s.kind === "eval" ? 1.8 : 2.2),
      dash: s.kind === "theory" ? "6 4" : s.kind === "eval" ? "5 3" : s.kind === "ref" ? "2 3" : null,
    });
    const plot = el("g", { "clip-path": `url(#${clipId})` }, svg);
    for (const s of series) {
      let d = "", pen = false;
      const pts = s.points;
      const dots = s.kind === "eval" && pts.length <= 80;
      pts.forEach(([x, v], i) => {
        const y = yPos(v);
        if (y === null) { pen = false; return; }
        d += (pen ? "L" : "M") + xPos(x).toFixed(1) + " " + y.toFixed(1);
        pen = true;
        const lonely = (i === 0 || yPos(pts[i - 1][1]) === null) && (i === pts.length - 1 || yPos(pts[i + 1][1]) === null);
        if (lonely || dots) el("circle", { cx: xPos(x), cy: y, r: dots ? 2.8 : 2.5, fill: s.color }, plot);
      });
      const { width: strokeWidth, dash } = style(s);
      const attrs = { d: d || "M0 0", fill: "none", stroke: s.color, "stroke-width": strokeWidth, "stroke-linejoin": "round", "data-series": s.label, "data-kind": s.kind };
      if (dash) attrs["stroke-dasharray"] = dash;
      el("path", attrs, plot);
    }
    for (const ref of refs) {
      const y = yPos(ref.y);
      if (y !== null) el("text", { x: W - R - 4, y: y - 5, "text-anchor": "end", fill: "#3d444d", "font-size": "11", ...HALO }, svg).textContent = ref.label;
    }
    if (clipped) el("text", { x: L + 6, y: T + 12, fill: "#3d444d", "font-size": "11", ...HALO }, svg).textContent = `↑ values above ${fmt(clampMax)} off the chart`;
    let row = clipped ? 1 : 0;
    for (const s of series) {
      if (s.kind !== "measured" || s.firstBad === null || s.firstBad === undefined) continue;
      const x = xPos(s.firstBad);
      el("line", { x1: x, x2: x, y1: T, y2: H - B, stroke: s.color, "stroke-dasharray": "2 3", "data-nonfinite-from": s.firstBad }, svg);
      const right = x > W - 170;
      el("text", { x: right ? x - 4 : x + 4, y: T + 14 + 14 * row++, fill: s.color, "font-size": "11", "text-anchor": right ? "end" : "start", ...HALO }, svg).textContent = `inf/NaN from ${xTitle} ${s.firstBad}`;
    }
    // Hover: the values of every series at the nearest x.
    const cursor = el("line", { y1: T, y2: H - B, stroke: "#8c959f", visibility: "hidden" }, svg);
    const hit = el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "transparent" }, svg);
    const tip = $("tooltip");
    const nearest = (pts, x) => pts.reduce((best, p) => (best === null || Math.abs(p[0] - x) < Math.abs(best[0] - x) ? p : best), null);
    hit.addEventListener("mousemove", (e) => {
      const box = svg.getBoundingClientRect();
      const sx = ((e.clientX - box.left) / box.width) * W;
      const at = Math.min(x1, Math.max(x0, Math.round(x0 + ((sx - L) / (W - L - R)) * (x1 - x0))));
      cursor.setAttribute("x1", xPos(at)); cursor.setAttribute("x2", xPos(at)); cursor.setAttribute("visibility", "visible");
      const shaped = series.find((s) => s.shapes && s.shapes[at]);
      const lines = [`${xTitle} ${at}` + (shaped ? ` · ${shaped.shapes[at]}` : "")];
      for (const s of series) {
        const p = nearest(s.points, at);
        if (p) lines.push(`${s.label}: ${fmt(p[1])}` + (p[0] !== at ? ` (${xTitle} ${p[0]})` : ""));
      }
      tip.textContent = lines.join("\n");
      tip.hidden = false;
      tip.style.left = Math.min(window.innerWidth - 300, e.clientX + 14) + "px";
      tip.style.top = e.clientY + 14 + "px";
    });
    hit.addEventListener("mouseleave", () => { tip.hidden = true; cursor.setAttribute("visibility", "hidden"); });
    container.appendChild(svg);
    // Legend as HTML: wraps nicely, readable at any width.
    const box = document.createElement("div");
    box.className = "legend";
    for (const s of legend || series) {
      const { width: strokeWidth, dash } = style(s);
      const item = document.createElement("span");
      item.innerHTML = `<svg width="26" height="10" aria-hidden="true"><line x1="0" x2="26" y1="5" y2="5" stroke="${s.color}" stroke-width="${Math.max(strokeWidth, 1.6)}" ${dash ? `stroke-dasharray="${dash}"` : ""}/></svg>`;
      item.appendChild(document.createTextNode(s.label));
      box.appendChild(item);
    }
    container.appendChild(box);
  }

  // ---------- heat map ("colorful dimension") ----------
  function viridis(t) {
    const pos = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(pos)), f = pos - i;
    const a = VIRIDIS[i], b = VIRIDIS[i + 1];
    const ch = (h, k) => parseInt(h.slice(1 + 2 * k, 3 + 2 * k), 16);
    return "rgb(" + [0, 1, 2].map((k) => Math.round(ch(a, k) * (1 - f) + ch(b, k) * f)).join(",") + ")";
  }

  function emptyNote(container, text) {
    container.innerHTML = "";
    const note = document.createElement("div");
    note.className = "empty";
    note.textContent = text;
    container.appendChild(note);
  }

  /// The one heat map: columns along x (layers, or snapshot steps), each a histogram's counts bottom-up, colour =
  /// log count on one scale for the whole map. `yTicks` are [fraction of the height, label]; a null column is grey.
  function histogramHeatMap(container, { columns, xTitle, yTitle, yTicks, aria }) {
    container.innerHTML = "";
    const stride = Math.max(1, Math.ceil(columns.length / 200));
    const cols = columns.filter((_, i) => i % stride === 0);
    const bins = Math.max(...cols.map((c) => (c.counts ? c.counts.length : 0)));
    const max = Math.max(1, ...cols.map((c) => (c.counts ? Math.max(...c.counts) : 0)));
    const W = 1100, H = 300, L = 62, R = 70, T = 10, B = 44;
    const cw = (W - L - R) / cols.length, rh = (H - T - B) / bins;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": aria, "font-size": "12", "shape-rendering": "crispEdges" });
    el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "#ffffff", stroke: "#8c959f" }, svg);
    cols.forEach((col, c) => {
      const g = el("g", { [`data-${xTitle}`]: col.x }, svg);
      el("title", {}, g).textContent = col.title;
      if (!col.counts) { el("rect", { x: L + c * cw, y: T, width: cw, height: H - T - B, fill: "#eee" }, g); return; }
      col.counts.forEach((n, b) => {
        if (n <= 0) return;
        const t = max > 1 ? Math.log(Math.max(1, n)) / Math.log(max) : 1;
        el("rect", { x: L + c * cw, y: T + (bins - b - 1) * rh, width: cw + 0.4, height: rh + 0.4, fill: viridis(t) }, g);
      });
    });
    // x ticks at round values, placed between the columns they fall between.
    const first = cols[0].x, last = cols[cols.length - 1].x;
    const xStep = Math.max(1, niceStep((last - first) / 10));
    for (let x = Math.ceil(first / xStep) * xStep; x <= last; x += xStep) {
      const c = cols.findIndex((col, i) => i === cols.length - 1 || cols[i + 1].x > x);
      const next = cols[Math.min(cols.length - 1, c + 1)];
      const f = next.x > cols[c].x ? (x - cols[c].x) / (next.x - cols[c].x) : 0;
      const px = L + (c + f + 0.5) * cw;
      el("line", { x1: px, x2: px, y1: H - B, y2: H - B + 5, stroke: "#57606a" }, svg);
      el("text", { x: px, y: H - B + 18, "text-anchor": "middle", fill: "#1f2328" }, svg).textContent = x;
    }
    for (const [f, text] of yTicks) {
      el("text", { x: L - 6, y: T + (1 - f) * (H - T - B) + 4, "text-anchor": "end", fill: "#1f2328" }, svg).textContent = text;
    }
    el("text", { x: L + (W - L - R) / 2, y: H - 6, "text-anchor": "middle", fill: "#3d444d", "font-size": "13" }, svg).textContent = xTitle;
    el("text", { transform: `translate(14 ${T + (H - T - B) / 2}) rotate(-90)`, "text-anchor": "middle", fill: "#3d444d", "font-size": "13" }, svg).textContent = yTitle;
    const gradId = "vir" + Math.random().toString(36).slice(2);
    const grad = el("linearGradient", { id: gradId, x1: 0, y1: 1, x2: 0, y2: 0 }, el("defs", {}, svg));
    VIRIDIS.forEach((c, i) => el("stop", { offset: i / (VIRIDIS.length - 1), "stop-color": c }, grad));
    el("rect", { x: W - R + 14, y: T, width: 14, height: H - T - B, fill: `url(#${gradId})` }, svg);
    el("text", { x: W - R + 32, y: T + 10, fill: "#1f2328", "font-size": "11" }, svg).textContent = String(Math.round(max));
    el("text", { x: W - R + 32, y: H - B, fill: "#1f2328", "font-size": "11" }, svg).textContent = "1";
    el("text", { transform: `translate(${W - R + 50} ${T + (H - T - B) / 2}) rotate(90)`, "text-anchor": "middle", fill: "#3d444d", "font-size": "11" }, svg).textContent = "count (log)";
    container.appendChild(svg);
  }

  /// Init-time: x = layer, each layer's histogram in its own range.
  function heatMap(container, run, pass) {
    const layers = run ? [...run.layers].sort((a, b) => a.index - b.index) : [];
    const histograms = layers.map((l) => { const s = statsOf(l, pass); return s && s.histogram; });
    if (!run || !histograms.some((h) => h)) {
      emptyNote(container, run ? (run.status === "succeeded" ? `No ${pass} histograms in this run.` : "Waiting for results…") : "Run an experiment to see this chart.");
      return;
    }
    const bins = Math.max(...histograms.map((h) => (h ? h.counts.length : 0)));
    histogramHeatMap(container, {
      columns: layers.map((l, i) => {
        const h = histograms[i];
        return { x: l.index, counts: h ? h.counts : null, title: h ? `layer ${l.index}: [${fmt(h.low)}, ${fmt(h.high)}]` : `layer ${l.index}: inf/NaN` };
      }),
      xTitle: "layer", yTitle: `bin (${bins}, layer's own range)`, yTicks: [[0, "low"], [0.5, "mid"], [1, "high"]], aria: `histogram heat map, ${pass}`,
    });
  }

  // ---------- training: curves, the colorful dimension over the steps, update ratios ----------
  /// A training run's measurements, complete from the result or growing from the `eval` and `snapshot` events.
  function trainingOf(run) {
    if (!run.training) run.training = { train_loss: [], learning_rate: [], evals: [], snapshots: [], summary: null };
    return run.training;
  }

  const isTraining = (run) => !!(run.training || (run.spec && run.spec.train));

  /// Every `stride`-th point (and the last), so a 100,000-step loss stays a light path.
  function thin(points, most) {
    const stride = Math.ceil(points.length / most);
    return stride <= 1 ? points : points.filter((_, i) => i % stride === 0 || i === points.length - 1);
  }

  function lossSeries(run) {
    const t = run.training;
    if (!t) return [];
    const out = [];
    const firstBad = t.train_loss.findIndex((v) => v === null || !isFinite(v));
    if (t.train_loss.length) {
      out.push({ label: label(run) + " — training", color: run.color, kind: "measured", width: 1.4, run: run.id,
        points: thin(t.train_loss.map((v, i) => [i, v]), 1500), firstBad: firstBad >= 0 ? firstBad : null });
    }
    if (t.evals.length) out.push({ label: label(run) + " — validation", color: run.color, kind: "eval", run: run.id, points: t.evals.map((e) => [e.step, e.loss]) });
    return out;
  }

  function accuracySeries(run) {
    const t = run.training;
    return t && t.evals.length ? [{ label: label(run), color: run.color, kind: "measured", run: run.id, points: t.evals.map((e) => [e.step, e.accuracy]) }] : [];
  }

  const layerName = (index, depth) => (index > depth ? `classifier (${index})` : `layer ${index}`);

  /// Redistributes a histogram over [low, high] onto `bins` equal bins over [lo, hi] (each count spread in
  /// proportion to the overlap), so that every step's column shares one value axis.
  function rebin(h, lo, hi, bins) {
    const out = new Array(bins).fill(0);
    const n = h.counts.length, width = (h.high - h.low) / n, scale = bins / (hi - lo);
    h.counts.forEach((count, i) => {
      if (count <= 0) return;
      const a = h.low + i * width, b = a + width;
      if (!(b > a)) { out[Math.min(bins - 1, Math.max(0, Math.floor((a - lo) * scale)))] += count; return; }
      for (let k = Math.max(0, Math.floor((a - lo) * scale)); k < bins && lo + k / scale < b; k++) {
        const overlap = Math.min(b, lo + (k + 1) / scale) - Math.max(a, lo + k / scale);
        if (overlap > 0) out[k] += (count * overlap) / width;
      }
    });
    return out;
  }

  /// x = snapshot step, y = the chosen layer's activation values on one axis for all steps, colour = log count.
  function trainingHeatMap(container, run, layerIndex) {
    const snapshots = run && run.training ? run.training.snapshots : [];
    const depth = run && run.spec ? run.spec.depth : 0;
    const stats = snapshots.map((s) => { const l = s.layers.find((q) => q.index === layerIndex); return l && l.forward && l.forward.activation; });
    const finite = stats.filter((a) => a && a.histogram && isFinite(a.histogram.low) && isFinite(a.histogram.high));
    if (!finite.length) {
      emptyNote(container, !run ? "Train a network to see this chart." : snapshots.length ? "No finite histograms for this layer." : "Waiting for the first statistics snapshot…");
      return;
    }
    const lo = Math.min(...finite.map((a) => a.histogram.low)), hi = Math.max(...finite.map((a) => a.histogram.high));
    const bins = Math.max(...finite.map((a) => a.histogram.counts.length));
    const span = hi > lo ? hi - lo : 1;
    histogramHeatMap(container, {
      columns: snapshots.map((s, i) => {
        const a = stats[i], h = a && a.histogram;
        const ok = h && isFinite(h.low) && isFinite(h.high);
        return { x: s.step, counts: ok ? rebin(h, lo, lo + span, bins) : null,
          title: ok ? `step ${s.step}: mean ${fmt(a.mean)}, std ${fmt(a.std)}, range [${fmt(h.low)}, ${fmt(h.high)}]` : `step ${s.step}: inf/NaN` };
      }),
      xTitle: "step", yTitle: `${layerName(layerIndex, depth)} activation`, aria: `activation histogram over the steps, ${layerName(layerIndex, depth)}`,
      yTicks: niceTicks(lo, lo + span, 4).map((v) => [(v - lo) / span, fmt(v)]),
    });
  }

  /// One line per layer (viridis from the first layer to the classifier) with the 1e-3 rule of thumb.
  function updateRatioChart(container, run, xMax) {
    const snapshots = run && run.training ? run.training.snapshots : [];
    const depth = run && run.spec ? run.spec.depth : 0;
    const indices = snapshots.length ? snapshots[0].layers.map((l) => l.index) : [];
    const color = (k) => viridis(indices.length > 1 ? (0.88 * k) / (indices.length - 1) : 0);
    const series = indices.map((index, k) => ({
      label: layerName(index, depth), color: color(k), kind: "measured", width: 1.5,
      points: snapshots.map((s) => { const l = s.layers.find((q) => q.index === index); return [s.step, l ? l.update_ratio : null]; }),
    }));
    const shown = [...new Set([0, Math.floor((indices.length - 1) / 3), Math.floor((2 * (indices.length - 1)) / 3), indices.length - 1])].filter((k) => k >= 0);
    if (!run) { emptyNote(container, "Train a network to see this chart."); return; }
    if (!series.length) { emptyNote(container, "Waiting for the first statistics snapshot…"); return; }
    lineChart(container, {
      series, scale: "log", xTitle: "step", xMin: 0, xMax, yTitle: "‖ΔW‖/‖W‖ (log)", width: 1100, refs: [{ y: 1e-3, label: "1e-3 rule of thumb" }],
      legend: shown.map((k) => series[k]).concat([{ label: "1e-3 rule of thumb", color: "#3d444d", kind: "ref", width: 1.3 }]),
    });
  }

  /// The run the per-run training charts show: the chosen run if it trains, else the first that does.
  function trainingRun() {
    const chosen = state.runs.find((r) => r.id === state.heatmap);
    return chosen && isTraining(chosen) ? chosen : state.runs.find(isTraining);
  }

  function fillLayerSelect(run) {
    const select = $("layer-select");
    const snapshots = run && run.training ? run.training.snapshots : [];
    const depth = run && run.spec ? run.spec.depth : 0;
    const indices = snapshots.length ? snapshots[0].layers.map((l) => l.index) : [];
    if (select.dataset.for !== `${run ? run.id : ""}:${indices.length}`) {
      select.dataset.for = `${run ? run.id : ""}:${indices.length}`;
      select.innerHTML = "";
      for (const index of indices) {
        const option = document.createElement("option");
        option.value = index;
        option.textContent = layerName(index, depth);
        select.appendChild(option);
      }
    }
    // Default: the last hidden layer, where a poor init shows most.
    const wanted = indices.includes(state.layer) ? state.layer : (indices.includes(depth) ? depth : indices[indices.length - 1]);
    if (wanted !== undefined) select.value = String(wanted);
    return wanted;
  }

  // ---------- exports of the training curves: links to the server's renderings ----------
  /// A finished training run's curves as the server renders them: every step's CSV row, the loss chart (in the
  /// page's loss scale) and the accuracy chart. Empty for an init-only or unfinished run (the routes answer 400, 409).
  function curveLinks(run) {
    if (!run || !isTraining(run) || run.status !== "succeeded") return [];
    const base = `/v1/experiments/${run.id}`;
    return [
      { kind: "csv", text: "curves CSV", short: "CSV", title: "the training curves, one CSV row per step", href: `${base}/result.csv?rows=steps`, file: `experiment-${run.id}-steps.csv` },
      { kind: "loss-svg", text: "loss SVG", short: "loss", title: "the loss chart, SVG", href: `${base}/plot.svg?metric=loss&scale=${state.lossScale}`, file: `experiment-${run.id}-loss.svg` },
      { kind: "accuracy-svg", text: "accuracy SVG", short: "accuracy", title: "the validation accuracy chart, SVG", href: `${base}/plot.svg?metric=accuracy`, file: `experiment-${run.id}-accuracy.svg` },
    ];
  }

  /// The Training section's export links: the run chosen in "Run (heat maps, update ratio)", hidden when it does not
  /// train; and, for a view opened with `?sweep=`, the sweep's overlaid loss chart.
  function renderExports() {
    const chosen = state.runs.find((r) => r.id === state.heatmap) || state.runs[0];
    const links = curveLinks(chosen);
    $("run-exports").hidden = !links.length;
    $("run-exports").title = chosen ? `Exports of ${label(chosen)}, rendered by the server` : "";
    for (const link of links) {
      const a = $(`export-${link.kind}`);
      a.href = link.href;
      a.download = link.file;
    }
    const sweepLink = state.sweep && state.runs.some((r) => isTraining(r) && r.status === "succeeded");
    $("sweep-exports").hidden = !sweepLink;
    if (sweepLink) $("export-sweep-loss-svg").href = `/v1/sweeps/${state.sweep}/plot.svg?metric=loss&scale=${state.lossScale}`;
  }

  function drawTraining() {
    const runs = state.runs.filter(isTraining);
    $("training").hidden = !runs.length;
    if (!runs.length) return;
    renderExports();
    // The step axis spans the longest run asked for, so that live curves grow into a fixed frame.
    const steps = (r) => (r.spec && r.spec.train && r.spec.train.steps) || 0;
    const xMax = maxOf(runs.map(steps));
    // A diverged run's astronomic losses leave through the top: the axis is set by the runs that stayed finite.
    const finiteRuns = runs.filter((r) => r.training && !lossSeries(r).some((s) => s.points.some((p) => p[1] === null)));
    const ceiling = maxOf(finiteRuns.flatMap((r) => lossSeries(r).flatMap((s) => s.points.map((p) => p[1])))) * 1.05;
    lineChart($("chart-loss"), { series: runs.flatMap(lossSeries), scale: state.lossScale, xTitle: "step", xMin: 0, xMax, yTitle: `loss (${state.lossScale})`,
      clampMax: isFinite(ceiling) && ceiling > 0 ? Math.max(ceiling, Math.LN10 * 1.1) : null, refs: [{ y: Math.LN10, label: "chance: ln 10" }],
      legend: runs.map((r) => ({ label: label(r), color: r.color, kind: "measured" }))
        .concat([{ label: "training, per step", color: "#57606a", kind: "measured", width: 1.4 }, { label: "validation", color: "#57606a", kind: "eval" }]) });
    lineChart($("chart-accuracy"), { series: runs.flatMap(accuracySeries), scale: "linear", xTitle: "step", xMin: 0, xMax, yTitle: "validation accuracy", fixed: [0, 1],
      refs: [{ y: 0.1, label: "chance" }] });
    const run = trainingRun();
    const layer = fillLayerSelect(run);
    const depth = run && run.spec ? run.spec.depth : 0;
    $("train-heatmap-caption").textContent = `Activations over the steps ("colorful dimension"): ${run ? label(run) : "—"}, ${layer !== undefined ? layerName(layer, depth) : "—"} — x = step, y = value, colour = log count`;
    trainingHeatMap($("chart-train-heatmap"), run, layer);
    $("update-ratio-caption").textContent = `Update ratio ‖ΔW‖/‖W‖ per layer over the steps: ${run ? label(run) : "—"}`;
    updateRatioChart($("chart-update-ratio"), run, run ? steps(run) : null);
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
      const tag = (v) => `<span class="tag ${v || "none"}">${v ? v.replace(/_/g, " ") : "—"}</span>`;
      const t = run.training;
      const lastEval = t && t.evals.length ? t.evals[t.evals.length - 1] : null;
      const live = lastEval && !t.summary ? `<div>validation accuracy ${fmt(lastEval.accuracy)} at step ${lastEval.step}</div>` : "";
      let trained = "";
      if (t && t.summary) {
        const ts = t.summary;
        const targets = (ts.steps_to_target || []).map((r) => `${Math.round(100 * r.accuracy)}% ${r.step === null ? "never" : `at step ${r.step}`}`).join(" · ");
        trained = `<div>training ${tag(ts.verdict)} accuracy ${fmt(ts.final_accuracy)} <span class="meta">(best ${fmt(ts.best_accuracy)} at step ${ts.best_step})</span></div>
          <div class="meta">${ts.diverged_at_step ? `diverged at step ${ts.diverged_at_step}` : `final loss ${fmt(ts.final_loss)}`}${targets ? " · " + targets : ""}</div>
          <div class="explain"></div>`;
      }
      if (!s) {
        card.innerHTML = `<h3></h3><div>${run.status === "succeeded" ? "" : run.status + (run.total ? ` (${run.done}/${run.total} ${run.unit})` : "")}</div>${live}`;
      } else {
        const g = (x) => (x === null || x === undefined ? "—" : "×" + fmt(x) + "/layer");
        const theory = s.theory || {};
        card.innerHTML = `<h3></h3>
          <div>forward ${tag(s.forward_verdict)} ${g(s.forward_growth_factor)}</div>
          <div>backward ${tag(s.backward_verdict)} ${g(s.backward_growth_factor)}</div>
          <div class="meta">theory: χ₁ = ${fmt(theory.chi1)}, ${theory.regime || "—"}${theory.depth_scale ? `, depth scale ${fmt(theory.depth_scale)}` : ""}</div>
          ${s.first_nonfinite_layer ? `<div>inf/NaN from layer ${s.first_nonfinite_layer}</div>` : ""}
          ${s.first_vanished_layer ? `<div>vanished from layer ${s.first_vanished_layer}</div>` : ""}`;
        if (trained) card.insertAdjacentHTML("afterbegin", trained);
      }
      if (!card.querySelector("h3")) card.insertAdjacentHTML("afterbegin", "<h3></h3>");
      card.querySelector("h3").textContent = label(run);
      card.prepend(card.querySelector("h3"));
      const explain = card.querySelector(".explain");
      if (explain) explain.textContent = t.summary.explanation;
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
    drawTraining();
    renderVerdicts();
    for (const card of document.querySelectorAll(".card")) {
      card.classList.toggle("focus", !!state.metric && card.dataset.metric === state.metric && (!card.dataset.pass || card.dataset.pass === state.pass || state.metric !== "std"));
    }
    document.body.dataset.drawn = String(runs.filter((r) => r.status === "succeeded" && r.summary).length);
    document.body.dataset.trained = String(runs.filter((r) => r.status === "succeeded" && r.training && r.training.summary).length);
  }

  // ---------- the lesson, trained ----------
  /// Which datasets the server has cached (training on one that is not is a 409); marks the form's options.
  async function loadDatasets() {
    try {
      const body = await api("/v1/datasets");
      for (const d of body.datasets || []) state.datasets[d.name] = !!d.cached;
    } catch (_) { /* an older server: leave the options as they are */ }
    for (const option of $("dataset-select").options) {
      if (option.value in state.datasets) option.textContent = option.value + (state.datasets[option.value] ? "" : " (not cached)");
    }
  }

  /// Issue 12's table: kaiming_normal, xavier_normal, ×0.01, PyTorch's default and N(0,1), trained side by side
  /// (784 → 19 × 256 ReLU → 10, SGD lr 0.05, batch 64, 300 steps) on Fashion-MNIST, or on the teacher task when
  /// the server has not cached it. `?lesson=quick` makes it small enough for the headless test.
  const LESSON_INITS = [{ name: "kaiming_normal" }, { name: "xavier_normal" }, { name: "normal", std: 0.01 }, { name: "torch_default" }, { name: "normal", std: 1 }];
  async function trainLesson() {
    say("");
    await loadDatasets();
    const quick = params.get("lesson") === "quick";
    const dataset = state.datasets["fashion-mnist"] ? "fashion-mnist" : "teacher";
    const form = specFromForm();
    const spec = {
      ...(quick ? { depth: 6, width: 64, batch: 32 } : { depth: 19, width: 256, batch: 64 }),
      seed: form.seed, histogram_bins: form.histogram_bins, backward: form.backward, init: LESSON_INITS[0], activation: { name: "relu" },
      train: {
        dataset, ...(quick ? { steps: 60, eval_every: 5, stats_every: 5, validation_size: 500 } : { steps: 300, eval_every: 10, stats_every: 10, validation_size: 2000 }),
        optimizer: { name: "sgd", lr: 0.05 }, schedule: "constant",
      },
    };
    fillForm(spec);
    if (dataset === "teacher") {
      say("Fashion-MNIST is not in this server's cache, so the lesson trains on the synthetic teacher task " +
        "(fetch it with `initlab fetch fashion-mnist` or POST /v1/datasets/fashion-mnist/fetch).", true);
    }
    for (const init of LESSON_INITS) await submit({ ...spec, init });
  }

  /// The companion lesson ("why sqrt(5)"): PyTorch's default conv init against Kaiming on its conv stack, each
  /// 3×3 or 5×5 layer with stride 2, then one dense layer; on Fashion-MNIST images when cached, else on Gaussian
  /// 1×28×28 images. The default shrinks the activations by about 1/√6 per ReLU layer, Kaiming keeps them.
  const WHY_SQRT5_STACK = { name: "cnn", input_shape: [1, 28, 28], conv: [
    { channels: 8, kernel: 5, stride: 2, padding: 2 }, { channels: 16, kernel: 3, stride: 2, padding: 1 },
    { channels: 32, kernel: 3, stride: 2, padding: 1 }, { channels: 32, kernel: 3, stride: 2, padding: 1 }] };
  async function whySqrt5() {
    say("");
    await loadDatasets();
    const form = specFromForm();
    const images = state.datasets["fashion-mnist"] ? { input: { dataset: "fashion-mnist" } } : {};
    const spec = { depth: 5, width: 32, batch: form.batch, seed: form.seed, histogram_bins: form.histogram_bins, backward: form.backward,
      activation: { name: "relu" }, architecture: WHY_SQRT5_STACK, ...images };
    fillForm(spec);
    for (const init of ["torch_default", "kaiming_normal"]) await submit({ ...spec, init: { name: init } });
  }

  // ---------- wiring ----------
  async function start() {
    $("scale-select").value = state.scale;
    $("loss-scale").value = state.lossScale;
    $("loss-scale").addEventListener("change", (e) => { state.lossScale = e.target.value; syncURL(); renderRuns(); scheduleDraw(); });
    $("layer-select").addEventListener("change", (e) => { state.layer = Number(e.target.value); syncURL(); scheduleDraw(); });
    const elements = $("spec-form").elements;
    elements.train.addEventListener("change", showTrainFields);
    elements.optimizer.addEventListener("change", showTrainFields);
    showTrainFields();
    loadDatasets();
    $("lesson-train-button").addEventListener("click", async () => {
      const button = $("lesson-train-button");
      button.disabled = true;
      try { await trainLesson(); } catch (err) { say(err.message); }
      finally { button.disabled = false; }
    });
    $("lesson-conv-button").addEventListener("click", async () => {
      const button = $("lesson-conv-button");
      button.disabled = true;
      try { await whySqrt5(); } catch (err) { say(err.message); }
      finally { button.disabled = false; }
    });
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
      say("Could not load the scheme catalog: " + e.message);
    }
    $("spec-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = $("run-button");
      button.disabled = true;
      say("");
      try { await submit(specFromForm()); } catch (err) { say(err.message); }
      finally { button.disabled = false; }
    });
    $("lesson-button").addEventListener("click", async () => {
      say("");
      const base = specFromForm();
      try {
        for (const init of ["xavier_normal", "kaiming_normal"]) {
          await submit({ ...base, init: { name: init }, activation: { name: "relu" } });
        }
      } catch (err) { say(err.message); }
    });
    const ids = (params.get("runs") || "").split(",").map((s) => s.trim()).filter((s) => /^[0-9a-f-]{36}$/.test(s));
    // `?sweep=id` opens every experiment of a sweep (POST /v1/sweeps); the URL then lists them as runs.
    const sweep = params.get("sweep");
    if (sweep && /^[0-9a-f-]{36}$/.test(sweep)) {
      try {
        const body = await api(`/v1/sweeps/${sweep}`);
        state.sweep = sweep;
        for (const e of body.experiments) if (!ids.includes(e.id) && e.status !== "pruned") ids.push(e.id);
      } catch (e) { say("Could not load the sweep: " + e.message); }
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