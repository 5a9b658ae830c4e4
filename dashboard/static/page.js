(function () {
  "use strict";
  // The dashboard's own script. It reads the page's JSON data block with JSON.parse and only ever inserts data
  // as text (textContent, createElement); charts are drawn by the vendored uPlot on canvas.
  var data = JSON.parse(document.getElementById("wafad-data").textContent);

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

  // --- interactive time charts (uPlot) ----------------------------------------------------------
  var tip = document.getElementById("tooltip");
  var charts = {};
  var drawn = 0;
  var shaded = {}, marked = {};  // per chart: windows shaded and alert marks drawn in its last redraw

  function sum(counts) { return Object.keys(counts).reduce(function (n, k) { return n + counts[k]; }, 0); }
  function report() {
    document.documentElement.setAttribute("data-shades-drawn", String(sum(shaded)));
    document.documentElement.setAttribute("data-marks-drawn", String(sum(marked)));
  }

  function fmtTime(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC"; }
  function fmtVal(v) {
    if (v === null || v === undefined) { return "–"; }
    return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v * 100) / 100) : v.toFixed(3);
  }
  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16 & 255) + "," + (n >> 8 & 255) + "," + (n & 255) + "," + a + ")";
  }
  function lookup(series) {
    var m = new Map();
    for (var i = 0; i < series.t.length; i++) { m.set(series.t[i], series.v[i]); }
    return m;
  }

  // One x array (seconds) for all series; a value missing at an x is undefined (the line joins over it),
  // a null value is a gap (the line breaks there). The window's own start and end are x values too, so a
  // double-click (reset) shows the whole window.
  function columns(spec) {
    var parts = [];
    spec.series.forEach(function (s) {
      parts.push({ src: s, map: lookup(s.data), edge: s.kind === "band" ? "low" : "" });
      if (s.kind === "band") { parts.push({ src: s, map: lookup(s.upper), edge: "high" }); }
    });
    var times = new Set([spec.start, spec.end]);
    parts.forEach(function (p) { p.map.forEach(function (_v, t) { times.add(t); }); });
    var xs = Array.from(times).sort(function (a, b) { return a - b; });
    var cols = [xs.map(function (t) { return t / 1000; })];
    parts.forEach(function (p) {
      cols.push(xs.map(function (t) {
        if (!p.map.has(t)) { return undefined; }
        var v = p.map.get(t);
        if (v !== null) { drawn++; }
        return v;
      }));
    });
    return { xs: xs, cols: cols, parts: parts };
  }

  // 24-hour UTC tick labels, with the date on the first tick and wherever the day changes
  function timeTicks(u, splits) {
    var lastDay = null;
    return splits.map(function (v) {
      var iso = new Date(v * 1000).toISOString(), day = iso.slice(5, 10);
      var label = iso.slice(11, 16) + (day !== lastDay ? "\n" + day : "");
      lastDay = day;
      return label;
    });
  }

  function seriesOpts(p) {
    var s = p.src, o = { label: s.label + (p.edge ? " (" + p.edge + ")" : ""), stroke: s.color, width: 1.6 };
    // points on lines only where they would otherwise be invisible: short or broken-up series
    var defined = s.data.v.filter(function (v) { return v !== null; }).length;
    o.points = { show: defined <= 12, size: 5 };
    if (s.dash) { o.dash = [5, 3]; }
    if (s.kind === "bars") {
      o.fill = alpha(s.color, 0.85);
      o.width = 0;
      o.paths = uPlot.paths.bars({ size: [0.9, 40], align: 1 });
      o.points = { show: false };
    } else if (s.kind === "markers") {
      o.paths = function () { return null; };
      o.points = { show: true, size: 7, fill: s.color, stroke: s.color };
    } else if (s.kind === "band") {
      o.width = 0.8;
      o.stroke = alpha(s.color, 0.55);
      o.points = { show: false };
    }
    return o;
  }

  function bands(parts) {
    var out = [];
    parts.forEach(function (p, i) {
      if (p.edge === "high") {
        out.push({ series: [i + 1, i], fill: alpha(p.src.color, 0.22) });
      }
    });
    return out;
  }

  // ground-truth windows (and no-data windows) shaded behind the series, alert marks drawn over them
  function drawShades(id, spec) {
    return function (u) {
      var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      shaded[id] = 0;
      ctx.save();
      spec.shades.forEach(function (s) {
        var a = u.valToPos(Math.max(s.start, spec.start) / 1000, "x", true);
        var b = u.valToPos(Math.min(s.end, spec.end) / 1000, "x", true);
        a = Math.max(a, u.bbox.left);
        b = Math.min(b, u.bbox.left + u.bbox.width);
        if (b < a) { return; }
        ctx.fillStyle = alpha(s.color, 0.18);
        ctx.fillRect(a, top, Math.max(b - a, 2), h);
        shaded[id]++;
      });
      ctx.restore();
      report();
    };
  }
  function drawMarks(id, spec) {
    return function (u) {
      var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      marked[id] = 0;
      ctx.save();
      ctx.setLineDash([3 * devicePixelRatio, 2 * devicePixelRatio]);
      ctx.lineWidth = 1.5 * devicePixelRatio;
      spec.marks.forEach(function (m) {
        var x = u.valToPos(m.t / 1000, "x", true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) { return; }
        ctx.strokeStyle = m.color;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + h);
        ctx.stroke();
        marked[id]++;
      });
      ctx.restore();
      report();
    };
  }

  function tooltipLines(spec, built, extras, idx) {
    var t = built.xs[idx], next = idx + 1 < built.xs.length ? built.xs[idx + 1] : t + 1;
    var lines = [fmtTime(t)];
    built.parts.forEach(function (p, i) {
      var v = built.cols[i + 1][idx];
      if (v !== undefined) { lines.push(p.src.label + (p.edge ? " (" + p.edge + ")" : "") + ": " + fmtVal(v)); }
    });
    Object.keys(extras).forEach(function (name) {
      if (extras[name].has(t)) { lines.push(name + ": " + fmtVal(extras[name].get(t))); }
    });
    var truth = spec.shades.filter(function (s) { return s.truth && s.start < next && s.end > t; });
    if (spec.shades.some(function (s) { return s.truth; }) || data.labels) {
      lines.push(truth.length ? "ground truth: inside " + truth.map(function (s) { return s.text; }).join("; ")
        : "ground truth: outside every injected window");
    }
    spec.shades.forEach(function (s) {
      if (!s.truth && s.start < next && s.end > t) { lines.push(s.label + ": " + s.text); }
    });
    spec.marks.forEach(function (m) {
      if (m.t >= t && m.t < next) { lines.push(m.label + ": " + m.text.slice(0, 160)); }
    });
    return lines;
  }

  function makeChart(host, spec) {
    var built = columns(spec);
    var extras = {};
    Object.keys(spec.extra).forEach(function (k) { extras[k] = lookup(spec.extra[k]); });
    var y = spec.y;
    var opts = {
      width: Math.max(host.clientWidth, 200),
      height: spec.height,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
      legend: { live: false },
      scales: {
        x: { time: true },
        y: {
          range: function (u, lo, hi) {
            var a = y.min !== null ? y.min : Math.min(0, lo === null ? 0 : lo);
            var b = y.max !== null ? y.max : Math.max(1, hi === null ? 1 : hi * 1.08);
            return [a, b];
          }
        }
      },
      // every chart keeps the same room left of the plot, so stacked charts line up in time
      axes: [{ values: timeTicks, space: 70 }, { label: y.label || "", labelSize: 16, size: 46 }],
      series: [{ label: "time" }].concat(built.parts.map(seriesOpts)),
      bands: bands(built.parts),
      hooks: {
        drawClear: [drawShades(host.id, spec)],
        draw: [drawMarks(host.id, spec)],
        setCursor: [function (u) {
          var idx = u.cursor.idx;
          if (idx === null || idx === undefined || u.cursor.left < 0) { tip.style.display = "none"; return; }
          tip.textContent = tooltipLines(spec, built, extras, idx).join("\n");
          var box = u.over.getBoundingClientRect();
          tip.style.left = (box.left + u.cursor.left + 14) + "px";
          tip.style.top = (box.top + u.cursor.top + 10) + "px";
          tip.style.display = "block";
        }]
      }
    };
    var u = new uPlot(opts, built.cols, host);
    u.over.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    return u;
  }

  Array.prototype.forEach.call(document.querySelectorAll(".chart-host[id]"), function (host) {
    var spec = (data.charts || {})[host.id];
    if (spec) { charts[host.id] = makeChart(host, spec); }
  });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      var host = document.getElementById(id);
      charts[id].setSize({ width: Math.max(host.clientWidth, 200), height: charts[id].height });
    });
  });
  window.wafadCharts = charts;  // for the browser test and the console: the uPlot instances by chart id

  // --- only detectors with anomalies -------------------------------------------------------------
  var toggle = document.getElementById("only-anomalous");
  if (toggle) {
    toggle.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll(".detector.quiet"), function (el) {
        el.style.display = toggle.checked ? "none" : "";
      });
    });
  }

  document.documentElement.setAttribute("data-charts", String(Object.keys(charts).length));
  document.documentElement.setAttribute("data-points", String(drawn));
  document.documentElement.setAttribute("data-render-complete", "1");
})();
