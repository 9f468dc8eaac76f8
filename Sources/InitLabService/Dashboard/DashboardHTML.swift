extension DashboardAssets {
    /// The page. State lives in the query string (`?runs=id1,id2&metric=std&scale=log&heatmap=id`), so every
    /// view is a shareable URL; `?selftest=1` makes the page run two tiny experiments itself and report.
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>InitLab — seeing initialization</title>
<link rel="stylesheet" href="/dashboard/app.css">
<link rel="icon" href="data:,">
</head>
<body>
<header class="top">
  <div>
    <h1>InitLab</h1>
    <p class="tagline">How initialization shapes the signal through a deep net: per-layer statistics, forward and backward, against the theory.</p>
  </div>
  <nav class="links"><a href="/openapi.yaml">API (OpenAPI)</a></nav>
</header>
<div id="errors" class="errors" role="alert" hidden></div>
<main class="layout">
  <aside class="panel" aria-label="New experiment">
    <h2>New experiment</h2>
    <form id="spec-form" novalidate>
      <fieldset>
        <legend>Network</legend>
        <div class="row">
          <label>Depth <input name="depth" type="number" min="1" max="10000" value="50" required></label>
          <label>Width <input name="width" type="number" min="1" max="4096" value="256" required></label>
        </div>
        <div class="row">
          <label>Batch <input name="batch" type="number" min="1" max="4096" value="128" required></label>
          <label>Seed <input name="seed" type="number" min="0" value="0" required></label>
        </div>
        <div class="row">
          <label>Bins <input name="histogram_bins" type="number" min="1" max="512" value="40" required></label>
          <label class="check"><input name="backward" type="checkbox" checked> backward pass</label>
        </div>
      </fieldset>
      <fieldset>
        <legend>Initializer</legend>
        <select name="init" id="init-select" aria-label="Initializer"></select>
        <p class="formula" id="init-formula"></p>
        <div id="init-params" class="params"></div>
      </fieldset>
      <fieldset>
        <legend>Activation</legend>
        <select name="activation" id="activation-select" aria-label="Activation"></select>
        <p class="formula" id="activation-formula"></p>
        <div id="activation-params" class="params"></div>
      </fieldset>
      <div class="actions">
        <button type="submit" id="run-button" class="primary">Run</button>
        <button type="button" id="lesson-button" title="Kaiming vs Xavier with ReLU, depth 50">The lesson: Xavier vs Kaiming</button>
      </div>
      <p id="form-message" class="message" aria-live="polite"></p>
    </form>
    <h2>Runs</h2>
    <ul id="runs" class="runs" aria-live="polite"><li class="empty">No runs yet: run one, or open a shared link.</li></ul>
  </aside>
  <section class="charts" aria-label="Charts">
    <div class="controls">
      <label>Std scale
        <select id="scale-select"><option value="log">log</option><option value="linear">linear</option></select>
      </label>
      <label>Heat map of
        <select id="heatmap-select"></select>
      </label>
      <label>Heat map pass
        <select id="heatmap-pass"><option value="forward">forward</option><option value="backward">backward</option></select>
      </label>
      <a id="share-link" href="/">Link to this view</a>
    </div>
    <div id="verdicts" class="verdicts"></div>
    <div class="grid">
      <figure class="card" data-metric="std" data-pass="forward"><figcaption>Std of activations, forward <span class="hint">— dashed: theory</span></figcaption><div class="chart" id="chart-std-forward"></div></figure>
      <figure class="card" data-metric="std" data-pass="backward"><figcaption>Std of activation gradients, backward <span class="hint">— dashed: theory</span></figcaption><div class="chart" id="chart-std-backward"></div></figure>
      <figure class="card" data-metric="mean" data-pass="forward"><figcaption>Mean of activations, forward</figcaption><div class="chart" id="chart-mean-forward"></div></figure>
      <figure class="card" data-metric="dead_fraction" data-pass="forward"><figcaption>Dead fraction (activations at the lowest value), forward</figcaption><div class="chart" id="chart-dead-forward"></div></figure>
      <figure class="card wide" data-metric="histogram"><figcaption id="heatmap-caption">Histogram per layer ("colorful dimension"): x = layer, y = bin, colour = log count</figcaption><div class="chart" id="chart-heatmap"></div></figure>
    </div>
  </section>
</main>
<div id="tooltip" class="tooltip" role="status" hidden></div>
<script src="/dashboard/app.js"></script>
</body>
</html>
"""#
}
