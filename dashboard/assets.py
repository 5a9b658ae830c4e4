"""The page's inline CSS and JavaScript (no library, no network).

The script only ever inserts data as text (``textContent``, ``createElement``); it never uses ``innerHTML``,
``insertAdjacentHTML``, ``document.write`` or ``eval``. The Content-Security-Policy of the page allows exactly
this script (by its SHA-256) and nothing else, and forbids every network fetch.
"""

from __future__ import annotations

CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --bg:#f5f7fa; --card:#fff; --bad:#d62728; --ok:#2ca02c; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.4 "DejaVu Sans", system-ui, sans-serif; color:var(--fg); background:var(--bg); }
header { background:#1d2330; color:#fff; padding:14px 24px; }
header h1 { margin:0 0 4px; font-size:20px; }
header .sub { color:#c7cedb; font-size:13px; }
nav { position:sticky; top:0; z-index:5; background:#2b3345; padding:6px 24px; }
nav a { color:#dfe5f0; margin-right:16px; text-decoration:none; font-size:13px; }
main { padding:12px 24px 40px; max-width:1400px; }
section { background:var(--card); border:1px solid var(--line); border-radius:6px; margin:14px 0; padding:12px 16px; }
section > h2 { margin:2px 0 8px; font-size:17px; }
h3 { margin:14px 0 6px; font-size:15px; }
.note { color:var(--muted); font-size:12.5px; margin:4px 0 8px; }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin:8px 0; }
.card { background:var(--bg); border:1px solid var(--line); border-radius:5px; padding:6px 12px; min-width:120px; }
.card .v { font-size:20px; font-weight:bold; }
.card .k { color:var(--muted); font-size:12px; }
.card.bad .v { color:var(--bad); }
.card.ok .v { color:var(--ok); }
.grid2 { display:grid; grid-template-columns: repeat(auto-fit, minmax(430px, 1fr)); gap:12px; }
.detector { border-top:1px solid var(--line); padding-top:6px; margin-top:10px; }
.detector.quiet { opacity:.92; }
.badge { display:inline-block; border-radius:9px; padding:0 8px; font-size:12px; margin-left:6px; background:#e8ecf3; }
.badge.bad { background:#fde2e1; color:#a11; }
.badge.ok { background:#e1f5e1; color:#175; }
table { border-collapse:collapse; width:100%; font-size:12.5px; margin:6px 0; }
th, td { border-bottom:1px solid var(--line); padding:3px 6px; text-align:left; vertical-align:top; }
th { background:var(--bg); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
td.raw { font-family: "DejaVu Sans Mono", monospace; word-break:break-all; white-space:pre-wrap; max-width:380px; }
svg.chart { display:block; max-width:100%; height:auto; background:#fff; }
svg.chart.time { width:100%; }
svg .chart-title { font-size:13px; font-weight:600; fill:var(--fg); }
svg .tick, svg .legend, svg .axis-label { font-size:11px; fill:var(--muted); }
svg .grid { stroke:#eef1f5; }
svg .frame { fill:none; stroke:#c9d0db; }
#tooltip { position:fixed; pointer-events:none; background:rgba(29,35,48,.93); color:#fff; font-size:12px;
  padding:5px 8px; border-radius:4px; white-space:pre; display:none; z-index:10; }
.controls { font-size:13px; margin:4px 0 8px; }
"""

JS = r"""
(function () {
  "use strict";
  var dataEl = document.getElementById("wafad-data");
  var data = JSON.parse(dataEl.textContent);

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value === null || value === undefined ? "" : String(value);
    if (cls) { el.className = cls; }
    return el;
  }

  // --- suspicious requests table, built from data as text only ---------------------------------
  var body = document.getElementById("requests-body");
  if (body) {
    var cols = ["time", "action", "status", "ip", "country", "method", "uri", "args", "user_agent", "headers"];
    var raw = { uri: 1, args: 1, user_agent: 1, headers: 1 };
    (data.samples || []).forEach(function (row) {
      var tr = document.createElement("tr");
      cols.forEach(function (c) { tr.appendChild(text("td", row[c], raw[c] ? "raw" : "")); });
      body.appendChild(tr);
    });
    var count = document.getElementById("requests-count");
    if (count) { count.textContent = String((data.samples || []).length); }
  }

  // --- hover read-out on time charts -------------------------------------------------------------
  var tip = document.getElementById("tooltip");
  function fmtTime(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC"; }
  function fmtVal(v) {
    if (v === null || v === undefined) { return "–"; }
    return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v * 100) / 100) : v.toFixed(3);
  }
  Array.prototype.forEach.call(document.querySelectorAll("svg.chart[data-start]"), function (svg) {
    var series = (data.charts || {})[svg.id];
    if (!series || !series.t || !series.t.length) { return; }
    var start = Number(svg.getAttribute("data-start")), end = Number(svg.getAttribute("data-end"));
    var left = Number(svg.getAttribute("data-left")), plotw = Number(svg.getAttribute("data-plotw"));
    svg.addEventListener("mousemove", function (ev) {
      var box = svg.getBoundingClientRect();
      var scale = box.width / svg.viewBox.baseVal.width;
      var x = (ev.clientX - box.left) / scale;
      var t = start + (x - left) / plotw * (end - start);
      var best = 0, dist = Infinity;
      for (var i = 0; i < series.t.length; i++) {
        var d = Math.abs(series.t[i] - t);
        if (d < dist) { dist = d; best = i; }
      }
      var lines = [fmtTime(series.t[best])];
      Object.keys(series.v).forEach(function (name) { lines.push(name + ": " + fmtVal(series.v[name][best])); });
      tip.textContent = lines.join("\n");
      tip.style.left = (ev.clientX + 14) + "px";
      tip.style.top = (ev.clientY + 10) + "px";
      tip.style.display = "block";
    });
    svg.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  });

  // --- only detectors with anomalies -------------------------------------------------------------
  var toggle = document.getElementById("only-anomalous");
  if (toggle) {
    toggle.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll(".detector.quiet"), function (el) {
        el.style.display = toggle.checked ? "none" : "";
      });
    });
  }

  var charts = document.querySelectorAll("svg.chart").length;
  var paths = document.querySelectorAll("svg.chart path.series, svg.chart rect.series, svg.chart circle.series").length;
  document.documentElement.setAttribute("data-charts", String(charts));
  document.documentElement.setAttribute("data-series-elements", String(paths));
  document.documentElement.setAttribute("data-render-complete", "1");
})();
"""
