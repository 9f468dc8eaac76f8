extension DashboardAssets {
    static let css = #"""
:root {
  --bg: #f6f8fa; --card: #ffffff; --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --accent: #0072B2;
  --bad: #b35900; --good: #007a5a; --warn: #8a6d00;
  font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
.top { display: flex; justify-content: space-between; align-items: flex-end; padding: 14px 24px 10px; background: #fff; border-bottom: 1px solid var(--line); }
.top h1 { margin: 0; font-size: 22px; letter-spacing: .2px; }
.tagline { margin: 2px 0 0; color: var(--muted); font-size: 14px; }
.links a { color: var(--accent); font-size: 14px; }
.errors { margin: 10px 24px 0; padding: 8px 12px; border: 1px solid #e5a0a0; background: #fff0f0; color: #8a1f1f; border-radius: 6px; font-size: 14px; white-space: pre-wrap; }
.layout { display: grid; grid-template-columns: 300px 1fr; gap: 18px; padding: 16px 24px 32px; align-items: start; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; position: sticky; top: 12px; }
.panel h2 { font-size: 15px; margin: 4px 0 8px; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 10px; padding: 6px 10px 8px; }
legend { font-size: 12px; color: var(--muted); padding: 0 4px; text-transform: uppercase; letter-spacing: .6px; }
label { display: block; font-size: 13px; color: var(--muted); }
.row { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; margin-bottom: 6px; }
input[type=number], select, input[type=text] { width: 100%; padding: 5px 6px; font: inherit; font-size: 14px; color: var(--ink); border: 1px solid var(--line); border-radius: 5px; background: #fff; }
input:invalid { border-color: #d1242f; }
label.check { display: flex; gap: 6px; align-items: center; padding-top: 18px; }
.formula { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; color: var(--muted); margin: 6px 0; line-height: 1.35; }
.params { display: grid; grid-template-columns: 1fr 1fr; gap: 6px; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; }
button { font: inherit; font-size: 14px; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--line); background: #f6f8fa; color: var(--ink); cursor: pointer; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); font-weight: 600; }
button:disabled { opacity: .6; cursor: progress; }
button:focus-visible, select:focus-visible, input:focus-visible, a:focus-visible { outline: 2px solid #0969da; outline-offset: 2px; }
.message { font-size: 13px; min-height: 1.2em; color: #8a1f1f; margin: 8px 0 0; white-space: pre-wrap; }
.runs { list-style: none; margin: 0; padding: 0; }
.runs li { border: 1px solid var(--line); border-left: 6px solid var(--c, #999); border-radius: 6px; padding: 6px 8px; margin-bottom: 6px; font-size: 13px; }
.runs li.empty { border-left-width: 1px; color: var(--muted); }
.runs .name { font-weight: 600; }
.runs .meta { color: var(--muted); }
.runs .files a { margin-right: 8px; color: var(--accent); }
.runs .remove { float: right; padding: 0 6px; font-size: 12px; line-height: 18px; }
.progress { height: 6px; background: #eaeef2; border-radius: 3px; overflow: hidden; margin: 4px 0; }
.progress > div { height: 100%; background: var(--c, var(--accent)); width: 0; transition: width .2s; }
.charts { min-width: 0; }
.controls { display: flex; gap: 16px; align-items: end; flex-wrap: wrap; margin-bottom: 10px; }
.controls label { min-width: 140px; }
.controls a { color: var(--accent); font-size: 14px; margin-left: auto; }
.verdicts { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 10px; margin-bottom: 12px; }
.verdict { background: var(--card); border: 1px solid var(--line); border-top: 4px solid var(--c, #999); border-radius: 8px; padding: 8px 10px; font-size: 13px; }
.verdict h3 { margin: 0 0 4px; font-size: 14px; }
.tag { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 600; margin-right: 4px; }
.tag.stable { background: #dafbe1; color: var(--good); } .tag.exploding { background: #ffebe0; color: var(--bad); } .tag.vanishing { background: #fff5cc; color: var(--warn); } .tag.none { background: #eaeef2; color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 14px; }
.card { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px 6px; min-width: 0; }
.card.wide, .card.focus { grid-column: 1 / -1; }
.card.focus { order: -1; }
figcaption { font-size: 14px; font-weight: 600; margin-bottom: 4px; }
.hint { font-weight: 400; color: var(--muted); }
.chart > svg { display: block; width: 100%; height: auto; }
.card.focus .chart > svg { max-height: 420px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; margin: 2px 0 4px 8px; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
.legend svg { display: inline-block; width: 26px; height: 10px; flex: none; }
.chart .empty { color: var(--muted); font-size: 13px; padding: 40px 0; text-align: center; }
.tooltip { position: fixed; pointer-events: none; background: rgba(31,35,40,.94); color: #fff; font-size: 12px; padding: 6px 8px; border-radius: 5px; white-space: pre; z-index: 10; }
@media (max-width: 900px) { .layout { grid-template-columns: 1fr; } .panel { position: static; } .grid { grid-template-columns: 1fr; } }
"""#
}
