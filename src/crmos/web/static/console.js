// crmos console. A "#key=..." link signs in: the fragment never reaches the server, and this
// script posts the key in a form body, then removes it from the address bar and history.
"use strict";
(function () {
  function keyFromHash() {
    const key = new URLSearchParams(location.hash.slice(1)).get("key");
    if (!key) return;
    history.replaceState(null, "", location.pathname + location.search);
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/sign-in";
    const fields = { key: key, csrf: document.body.dataset.csrf, next: location.pathname };
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = value;
      form.appendChild(input);
    }
    document.body.appendChild(form);
    form.submit();
  }
  window.addEventListener("hashchange", keyFromHash);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", keyFromHash);
  } else {
    keyFromHash();
  }
})();

// The graph neighbourhood on a profile page, drawn with the vendored Cytoscape.js.
(function () {
  function draw() {
    const box = document.getElementById("graph");
    const data = document.getElementById("graph-data");
    if (!box || !data || !window.cytoscape) return;
    const colours = { profile: "#1f5fd6", account: "#1b7a4b", device: "#8a5a00", occasion: "#7b3fa0" };
    window.cytoscape({
      container: box,
      elements: JSON.parse(data.textContent),
      layout: { name: "cose", animate: false },
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 9, "background-color": (n) => colours[n.data("kind")] || "#555" } },
        { selector: "node[?start]", style: { "border-width": 3, "border-color": "#111" } },
        { selector: "edge", style: { label: "data(label)", "font-size": 8, width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle" } },
      ],
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();

// Charts (ECharts, vendored): each [data-chart] names a JSON script holding bars,
// {labels: [...], series: [{name, data}]}, or lines over time (kind "time"); the table
// beside it carries the same figures.
(function () {
  function draw() {
    if (!window.echarts) return;
    const rtl = document.documentElement.dir === "rtl";
    for (const box of document.querySelectorAll("[data-chart]")) {
      const data = JSON.parse(document.getElementById(box.dataset.chart).textContent);
      // {kind: "time", series: [{name, data: [[ms, value], ...]}]} draws lines over time.
      const overTime = data.kind === "time";
      window.echarts.init(box).setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 20, top: 30, bottom: 30 },
        xAxis: overTime
          ? { type: "time", inverse: rtl }
          : { type: "category", data: data.labels, inverse: rtl },
        yAxis: { type: "value", position: rtl ? "right" : "left", max: overTime ? 1 : null },
        series: data.series.map((s) => ({
          name: s.name,
          type: overTime ? "line" : "bar",
          data: s.data,
        })),
      });
    }
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
