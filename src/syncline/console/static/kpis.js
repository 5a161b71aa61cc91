/* The KPI dashboard's charts: one Chart.js chart per <canvas data-kpi>, from the page's JSON
   (#kpi-data, written by console/kpis.py). Figures arrive as decimal strings; Chart.js draws
   numbers, so they are converted here, for drawing only (the tables show them exact). */
(function () {
  "use strict";
  var PALETTE = ["#2457c5", "#18794e", "#b54708", "#7a5af8", "#c11574", "#0e9384",
                 "#667085", "#dc6803", "#3e4784", "#b42318", "#4e5ba6", "#099250"];
  var AGES = {"0-1": "#12b76a", "2-7": "#fdb022", "8-30": "#f79009", "31+": "#d92d20"};

  function draw(canvas, chart) {
    var stacked = chart.kind === "stacked";
    var datasets = chart.series.map(function (s, i) {
      var colour = AGES[s.label] || PALETTE[i % PALETTE.length];
      return {
        label: s.label,
        data: s.values.map(function (v) { return v === null ? null : Number(v); }),
        stack: stacked ? (s.stack || "all") : undefined,
        borderColor: colour, backgroundColor: chart.kind === "line" ? colour : colour + "cc",
        spanGaps: false, tension: 0.2, pointRadius: 3
      };
    });
    return new Chart(canvas, {
      type: chart.kind === "line" ? "line" : "bar",
      data: {labels: chart.months, datasets: datasets},
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: {mode: "index", intersect: false},
        plugins: {legend: {position: "bottom", labels: {boxWidth: 12}},
                  tooltip: {callbacks: {footer: function () { return chart.unit; }}}},
        scales: {x: {stacked: stacked}, y: {stacked: stacked, beginAtZero: true,
                 title: {display: true, text: chart.unit}}}
      }
    });
  }

  function start() {
    var source = document.getElementById("kpi-data");
    if (!source || typeof Chart === "undefined") { return; }
    var charts = {};
    JSON.parse(source.textContent).forEach(function (c) { charts[c.kpi] = c; });
    document.querySelectorAll("canvas[data-kpi]").forEach(function (canvas) {
      var chart = charts[canvas.dataset.kpi];
      if (chart && chart.series.length) { draw(canvas, chart); }
    });
    document.body.dataset.chartsReady = "true";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
