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
}))()`);
log("charts:", JSON.stringify(checks));
if (checks.failedRuns) fail(`${checks.failedRuns} run(s) did not succeed`);
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
await evaluate(`window.scrollTo(0, 0)`);
const metrics = await send("Page.getLayoutMetrics");
const height = Math.ceil(Math.min(4000, metrics.cssContentSize ? metrics.cssContentSize.height : metrics.contentSize.height));
await send("Emulation.setDeviceMetricsOverride", { width: 1400, height, deviceScaleFactor: 1, mobile: false });
await new Promise((r) => setTimeout(r, 300));
const shot = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
writeFileSync(screenshotPath, Buffer.from(shot.data, "base64"));
log(`screenshot: ${screenshotPath} (1400×${height})`);

const pageErrors = await evaluate(`window.__initlabErrors.length`);
if (errors.length || pageErrors) fail(`${errors.length} console error(s), ${pageErrors} page error(s)`);
log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
ws.close();
process.exit(0);
