// DevTools-protocol driver for scripts/browser-test.sh. Usage: node --experimental-websocket browser-test.mjs
// <server url> <devtools port> <screenshot path>. Exits non-zero on any failure or JavaScript error.
import { writeFileSync } from "node:fs";

const [server, devtoolsPort, screenshotPath] = process.argv.slice(2);
const errors = [];
const log = (...a) => console.log("browser-test:", ...a);
function fail(message) {
  console.error("browser-test: FAIL:", message);
  if (errors.length) console.error("JavaScript errors:\n  " + errors.join("\n  "));
  process.exit(1);
}

const target = await (await fetch(`http://127.0.0.1:${devtoolsPort}/json/new?about:blank`, { method: "PUT" })).json();
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("DevTools socket failed")); });

let nextId = 1;
const pending = new Map();
const listeners = [];
ws.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.id && pending.has(data.id)) {
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    data.error ? reject(new Error(data.error.message)) : resolve(data.result);
    return;
  }
  if (data.method === "Runtime.exceptionThrown") {
    const d = data.params.exceptionDetails;
    errors.push(`exception: ${(d.exception && d.exception.description) || d.text}`);
  } else if (data.method === "Runtime.consoleAPICalled" && (data.params.type === "error" || data.params.type === "assert")) {
    errors.push(`console.${data.params.type}: ${data.params.args.map((a) => a.value ?? a.description).join(" ")}`);
  } else if (data.method === "Log.entryAdded" && data.params.entry.level === "error") {
    errors.push(`log: ${data.params.entry.text} ${data.params.entry.url || ""}`);
  }
  for (const listener of listeners) listener(data);
};
const send = (method, params = {}) => new Promise((resolve, reject) => {
  const id = nextId++;
  pending.set(id, { resolve, reject });
  ws.send(JSON.stringify({ id, method, params }));
});
const evaluate = async (expression) => {
  const r = await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) throw new Error(`evaluate failed: ${expression}: ${r.exceptionDetails.text}`);
  return r.result.value;
};
const waitFor = async (what, expression, timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await evaluate(expression)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  fail(`timed out waiting for ${what}`);
};
const navigate = async (url) => {
  const loaded = new Promise((resolve) => listeners.push((d) => { if (d.method === "Page.loadEventFired") resolve(); }));
  await send("Page.navigate", { url });
  await loaded;
};
const click = async (selector) => {
  const box = await evaluate(`(() => { const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()`);
  for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
    await send("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
  }
};
const setValue = (selector, value) => evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); e.value = ${JSON.stringify(String(value))}; e.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`);

await send("Runtime.enable");
await send("Log.enable");
await send("Page.enable");
await send("Emulation.setDeviceMetricsOverride", { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });

const started = Date.now();
await navigate(`${server}/`);
await waitFor("the form built from /v1/schemes", `document.querySelectorAll("#init-select option").length > 3 && document.querySelectorAll("#activation-select option").length > 3`, 15000);
log("page loaded, scheme catalog in the form");

// The lesson's key picture: Xavier vs Kaiming, ReLU, through the real form and a real mouse click.
await setValue('input[name=depth]', 40);
await setValue('input[name=width]', 256);
await setValue('input[name=batch]', 128);
await setValue('input[name=histogram_bins]', 40);
await evaluate(`(() => { const s = document.getElementById("activation-select"); s.value = "relu"; s.dispatchEvent(new Event("change")); return true; })()`);
const withBackward = process.env.BROWSER_TEST_BACKWARD !== "0";
if (!withBackward) await evaluate(`(() => { document.querySelector("input[name=backward]").checked = false; return true; })()`);
await click("#lesson-button");
await waitFor("two runs listed", `document.querySelectorAll("#runs li[data-run]").length === 2`, 15000);
log("submitted two experiments; following their events");
await waitFor("both runs to finish and draw", `document.body.dataset.drawn === "2" && document.querySelectorAll("#chart-std-forward path[data-kind=measured]").length === 2`, 120000);
const checks = await evaluate(`(() => ({
  url: location.search,
  measured: document.querySelectorAll("#chart-std-forward path[data-kind=measured]").length,
  theory: document.querySelectorAll("#chart-std-forward path[data-kind=theory]").length,
  backward: document.querySelectorAll("#chart-std-backward path[data-kind=measured]").length,
  heat: document.querySelectorAll("#chart-heatmap g[data-layer]").length,
  verdicts: [...document.querySelectorAll(".verdict .tag")].map((t) => t.textContent),
  failedRuns: [...document.querySelectorAll("#runs li")].filter((li) => li.dataset.status !== "succeeded").length,
  curveLinks: document.querySelectorAll("#runs a[data-export]").length + (document.getElementById("run-exports").hidden ? 0 : 1),
}))()`);
log("charts:", JSON.stringify(checks));
if (checks.failedRuns) fail(`${checks.failedRuns} run(s) did not succeed`);
if (checks.curveLinks) fail("init-only runs offer training-curve exports: " + JSON.stringify(checks));
if (checks.theory !== 2 || checks.backward !== (withBackward ? 2 : 0) || checks.heat !== 40) fail("charts incomplete: " + JSON.stringify(checks));
// The lesson's verdict: Xavier's activations vanish with ReLU, Kaiming's hold.
if (checks.verdicts.length !== 4 || checks.verdicts[0] !== "vanishing" || checks.verdicts[2] !== "stable") fail("verdicts: " + JSON.stringify(checks.verdicts));
if (!/runs=[0-9a-f-]{36}%2C[0-9a-f-]{36}|runs=[0-9a-f-]{36},[0-9a-f-]{36}/.test(checks.url)) fail("the URL does not carry the runs: " + checks.url);

// The shared URL alone reproduces the view.
await navigate(`${server}/${checks.url}`);
await waitFor("the shared view to redraw", `document.body.dataset.drawn === "2" && document.querySelectorAll("#chart-std-forward path[data-kind=measured]").length === 2`, 30000);
log("shared URL reproduces the view");

// Server-rendered embeds answer for the same runs.
const ids = decodeURIComponent(checks.url).match(/[0-9a-f-]{36}/g);
for (const path of [`/v1/experiments/${ids[0]}/plot.svg?metric=histogram`, `/v1/experiments/${ids[1]}/result.csv`]) {
  const response = await fetch(server + path);
  if (!response.ok) fail(`${path} answered ${response.status}`);
}

// Full-page screenshot.
const screenshot = async (path) => {
  await evaluate(`window.scrollTo(0, 0)`);
  const metrics = await send("Page.getLayoutMetrics");
  const height = Math.ceil(Math.min(4000, metrics.cssContentSize ? metrics.cssContentSize.height : metrics.contentSize.height));
  await send("Emulation.setDeviceMetricsOverride", { width: 1400, height, deviceScaleFactor: 1, mobile: false });
  await new Promise((r) => setTimeout(r, 300));
  const shot = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
  writeFileSync(path, Buffer.from(shot.data, "base64"));
  await send("Emulation.setDeviceMetricsOverride", { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });
  log(`screenshot: ${path} (1400×${height})`);
};
await screenshot(screenshotPath);

// Training: the lesson's five inits side by side, small (?lesson=quick: depth 6, width 64, 60 steps; the
// teacher task, since this server has no Fashion-MNIST), through a real click; live steps, eval and snapshot
// events, then the curves, the colorful dimension over the steps and the update ratios.
const trainingStarted = Date.now();
await navigate(`${server}/?lesson=quick`);
await waitFor("the form", `document.querySelectorAll("#init-select option").length > 3`, 15000);
await click("#lesson-train-button");
await waitFor("five training runs listed", `document.querySelectorAll("#runs li[data-run]").length === 5`, 15000);
log("submitted the lesson's five inits; following their events");
let sawSteps = false;
const trainDeadline = Date.now() + 90000;
for (;;) {
  const now = await evaluate(`(() => ({
    steps: [...document.querySelectorAll("#runs li .meta")].some((m) => /\\d+\\/60 steps/.test(m.textContent)),
    done: document.body.dataset.trained === "5" && [...document.querySelectorAll("#runs li")].every((li) => li.dataset.status === "succeeded"),
    failed: [...document.querySelectorAll("#runs li")].filter((li) => ["failed", "cancelled", "error"].includes(li.dataset.status)).length,
  }))()`);
  sawSteps ||= now.steps;
  if (now.failed) fail(`${now.failed} training run(s) failed`);
  if (now.done) break;
  if (Date.now() > trainDeadline) fail("timed out waiting for the training runs");
  await new Promise((r) => setTimeout(r, 100));
}
const training = await evaluate(`(() => {
  const drawn = (sel) => [...document.querySelectorAll(sel)].filter((p) => /L/.test(p.getAttribute("d") || "")).length;
  return {
    message: document.getElementById("form-message").textContent,
    lossTrain: drawn("#chart-loss path[data-kind=measured]"),
    lossEval: drawn("#chart-loss path[data-kind=eval]"),
    accuracy: drawn("#chart-accuracy path[data-kind=measured]"),
    heatColumns: document.querySelectorAll("#chart-train-heatmap g[data-step]").length,
    heatCells: document.querySelectorAll("#chart-train-heatmap g[data-step] rect").length,
    ratioLines: drawn("#chart-update-ratio path[data-kind=measured]"),
    ruleOfThumb: document.querySelectorAll('#chart-update-ratio line[data-ref="0.001"]').length,
    layers: document.querySelectorAll("#layer-select option").length,
    events: [...document.querySelectorAll("#runs li")].reduce((n, li) => n + Number(li.dataset.events || 0), 0),
    verdicts: [...document.querySelectorAll(".verdict")].map((v) => [v.querySelector("h3").textContent, (v.querySelector(".tag") || {}).textContent]),
  };
})()`);
log(`training charts after ${((Date.now() - trainingStarted) / 1000).toFixed(1)} s:`, JSON.stringify(training));
if (training.lossTrain < 4 || training.lossEval < 4 || training.accuracy < 4) fail("loss or accuracy curves missing: " + JSON.stringify(training));
if (training.heatColumns < 10 || training.heatCells < 50) fail("the colorful dimension is empty: " + JSON.stringify(training));
if (training.ratioLines !== 7 || training.ruleOfThumb !== 1 || training.layers !== 7) fail("update ratios incomplete: " + JSON.stringify(training));
if (!training.events) fail("no eval or snapshot event arrived over SSE");
if (!sawSteps) fail("progress never showed steps_done/steps_total");
if (!/teacher task/.test(training.message)) fail("no message about the teacher task: " + training.message);
if (training.verdicts[0][1] !== "learns") fail("kaiming_normal should learn: " + JSON.stringify(training.verdicts));
// Another layer redraws the heat map; the log-scale switch redraws the loss.
await evaluate(`(() => { const s = document.getElementById("layer-select"); s.value = "1"; s.dispatchEvent(new Event("change")); const l = document.getElementById("loss-scale"); l.value = "linear"; l.dispatchEvent(new Event("change")); return true; })()`);
await waitFor("layer 1's heat map", `/layer 1 —/.test(document.getElementById("train-heatmap-caption").textContent) && /linear/.test(document.querySelector("#chart-loss svg").getAttribute("aria-label"))
  && /metric=loss&scale=linear$/.test(document.getElementById("export-loss-svg").getAttribute("href"))`, 5000);
await evaluate(`(() => { const s = document.getElementById("layer-select"); s.value = "6"; s.dispatchEvent(new Event("change")); const l = document.getElementById("loss-scale"); l.value = "log"; l.dispatchEvent(new Event("change")); return true; })()`);
await waitFor("the log-scale loss", `/log/.test(document.querySelector("#chart-loss svg").getAttribute("aria-label"))`, 5000);
// The curve exports are links to the server's renderings of the run chosen for the heat maps (and, in each
// training run's entry of the runs list, of that run); fetched from the page, as a click on them would.
const exported = await evaluate(`(async () => {
  const id = document.getElementById("heatmap-select").value, steps = Number(document.querySelector("input[name=steps]").value);
  const href = (sel) => { const a = document.querySelector(sel); return a ? a.getAttribute("href") : null; };
  const links = { csv: href("#export-csv"), loss: href("#export-loss-svg"), accuracy: href("#export-accuracy-svg") };
  const listed = [...document.querySelectorAll("#runs li[data-run]")].map((li) => [li.dataset.run, [...li.querySelectorAll("a[data-export]")].map((a) => a.getAttribute("href"))]);
  const csvResponse = await fetch(links.csv);
  const csv = (await csvResponse.text()).split("\\r\\n").filter(Boolean);
  const svg = async (url) => {
    const response = await fetch(url);
    const d = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
    return { status: response.status, type: response.headers.get("Content-Type"), parsed: !d.querySelector("parsererror"),
      measured: d.querySelectorAll('path[data-kind="measured"]').length, validation: d.querySelectorAll('path[data-kind="validation"]').length };
  };
  return { id, steps, links, listed, visible: !document.getElementById("run-exports").hidden, sweepHidden: document.getElementById("sweep-exports").hidden,
    csvStatus: csvResponse.status, csvHeader: csv[0], csvLines: csv.length, loss: await svg(links.loss), accuracy: await svg(links.accuracy) };
})()`);
log("exports:", JSON.stringify({ ...exported, listed: exported.listed.length }));
const base = `/v1/experiments/${exported.id}`;
if (!exported.visible || !exported.sweepHidden) fail("export links shown wrongly: " + JSON.stringify(exported));
if (exported.links.csv !== `${base}/result.csv?rows=steps` || exported.links.loss !== `${base}/plot.svg?metric=loss&scale=log` || exported.links.accuracy !== `${base}/plot.svg?metric=accuracy`) fail("export links: " + JSON.stringify(exported.links));
if (exported.listed.length !== 5 || exported.listed.some(([run, hrefs]) => hrefs.length !== 3 || !hrefs[0].startsWith(`/v1/experiments/${run}/result.csv?rows=steps`) || !hrefs[1].startsWith(`/v1/experiments/${run}/plot.svg?metric=loss`))) fail("runs list curve links: " + JSON.stringify(exported.listed));
// A header, then rows 0 … steps: row k is the k-th mini-batch, and the last evaluation (after every update) has a row of its own.
if (exported.csvStatus !== 200 || exported.csvHeader !== "step,train_loss,learning_rate,validation_loss,validation_accuracy" || exported.steps !== 60 || exported.csvLines !== exported.steps + 2) fail("curves CSV: " + JSON.stringify(exported));
for (const [name, chart] of [["loss", exported.loss], ["accuracy", exported.accuracy]]) {
  if (chart.status !== 200 || !/^image\/svg\+xml/.test(chart.type || "") || !chart.parsed || chart.measured < 1 || (name === "loss" && chart.validation < 1)) fail(`${name} SVG: ` + JSON.stringify(chart));
}
await screenshot(screenshotPath.replace(/\.png$/, "-training.png"));

// A training sweep opened with ?sweep=: its overlaid loss chart is a link to the server's rendering too.
const sweepResponse = await fetch(`${server}/v1/sweeps`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({
  base: { depth: 3, width: 16, batch: 16, init: "kaiming_normal", activation: "relu",
    train: { dataset: "teacher", steps: 20, eval_every: 5, stats_every: 5, validation_size: 200, optimizer: { name: "sgd", lr: 0.05 } } },
  vary: { seed: [0, 1] },
}) });
if (sweepResponse.status !== 201) fail(`POST /v1/sweeps answered ${sweepResponse.status}: ${await sweepResponse.text()}`);
const sweepID = (await sweepResponse.json()).id;
await navigate(`${server}/?sweep=${sweepID}`);
await waitFor("the sweep's two training runs", `document.body.dataset.trained === "2" && !document.getElementById("sweep-exports").hidden`, 60000);
const sweepExport = await evaluate(`(async () => {
  const href = document.getElementById("export-sweep-loss-svg").getAttribute("href");
  const response = await fetch(href);
  const d = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
  return { href, status: response.status, type: response.headers.get("Content-Type"), measured: d.querySelectorAll('path[data-kind="measured"]').length };
})()`);
log("sweep export:", JSON.stringify(sweepExport));
if (sweepExport.href !== `/v1/sweeps/${sweepID}/plot.svg?metric=loss&scale=log` || sweepExport.status !== 200 || !/^image\/svg\+xml/.test(sweepExport.type || "") || sweepExport.measured !== 2) fail("sweep export: " + JSON.stringify(sweepExport));

// A cnn through the form's architecture field: the run names its conv stack, and the hover names each layer's shape.
await navigate(`${server}/`);
await waitFor("the form", `document.querySelectorAll("#init-select option").length > 3`, 15000);
await setValue('input[name=depth]', 3);
await setValue('input[name=width]', 16);
await setValue('input[name=batch]', 8);
await setValue('input[name=architecture]', JSON.stringify({ name: "cnn", input_shape: [1, 12, 12], conv: [{ channels: 4, kernel: 3, pool: "max" }, { channels: 6, kernel: 3 }] }));
await click("#run-button");
await waitFor("the cnn run to draw", `document.body.dataset.drawn === "1" && document.querySelectorAll("#chart-std-forward path[data-kind=measured]").length === 1`, 60000);
const cnn = await evaluate(`(() => {
  const meta = document.querySelector("#runs li[data-run] .meta").textContent;
  const svg = document.querySelector("#chart-std-forward svg");
  const hit = [...svg.querySelectorAll("rect")].find((r) => r.getAttribute("fill") === "transparent");
  const box = svg.getBoundingClientRect(), W = svg.viewBox.baseVal.width;
  const tips = [];
  for (const layer of [1, 2, 3]) {
    // Layer k's x in the chart (x from 1 to 3 over the plot between L = 62 and W − 14).
    const x = 62 + ((layer - 1) / 2) * (W - 62 - 14);
    hit.dispatchEvent(new MouseEvent("mousemove", { clientX: box.left + (x / W) * box.width, clientY: box.top + box.height / 2, bubbles: true }));
    tips.push(document.getElementById("tooltip").textContent.split("\\n")[0]);
  }
  return { meta, tips };
})()`);
log("cnn:", JSON.stringify(cnn));
if (!cnn.meta.includes("cnn (2 conv)")) fail("the cnn run's entry does not name its conv stack: " + cnn.meta);
if (JSON.stringify(cnn.tips) !== JSON.stringify(["layer 1 · conv 4×10×10 → pool 4×5×5", "layer 2 · conv 6×3×3", "layer 3 · dense 16"])) fail("cnn hover: " + JSON.stringify(cnn.tips));

// "Why √5: a conv net": PyTorch's default conv init against Kaiming on the lesson's conv stack, through a real click.
await navigate(`${server}/`);
await waitFor("the form", `document.querySelectorAll("#init-select option").length > 3`, 15000);
await click("#lesson-conv-button");
await waitFor("both conv runs to draw", `document.body.dataset.drawn === "2" && document.querySelectorAll("#chart-std-forward path[data-kind=measured]").length === 2`, 60000);
const sqrt5 = await evaluate(`(() => ({
  names: [...document.querySelectorAll(".verdict h3")].map((h) => h.textContent),
  verdicts: [...document.querySelectorAll(".verdict .tag")].map((t) => t.textContent),
  architecture: document.querySelector("input[name=architecture]").value,
}))()`);
log("why √5:", JSON.stringify(sqrt5));
if (sqrt5.names.length !== 2 || !/torch_default/.test(sqrt5.names[0]) || !/kaiming_normal/.test(sqrt5.names[1])) fail("why √5 runs: " + JSON.stringify(sqrt5.names));
// torch_default's activations vanish through the four conv layers; Kaiming's hold.
if (sqrt5.verdicts[0] !== "vanishing" || sqrt5.verdicts[2] !== "stable") fail("why √5 verdicts: " + JSON.stringify(sqrt5.verdicts));
if (!sqrt5.architecture.includes('"name":"cnn"')) fail("the form does not show the conv stack: " + sqrt5.architecture);
await screenshot(screenshotPath.replace(/\.png$/, "-why-sqrt5.png"));

const pageErrors = await evaluate(`window.__initlabErrors.length`);
if (errors.length || pageErrors) fail(`${errors.length} console error(s), ${pageErrors} page error(s)`);
log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
ws.close();
process.exit(0);
