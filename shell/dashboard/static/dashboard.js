// Live updates: every 2 s, fetch the JSON behind the page (data-live) and put each value into
// the element whose data-field names it. Rows are matched by position and key (data-row,
// data-key); a batch or user added or removed reloads the page. Text only (textContent), never
// HTML, so nothing the server sends can become markup. The throughput chart is an image the
// server draws; it is reloaded when the JSON's chart.version changes.
"use strict";
(function () {
  const live = document.querySelector("[data-live]");
  if (!live) { return; }
  const url = live.getAttribute("data-live");
  function pick(data, path) {
    return path.split(".").reduce((v, k) => (v == null ? undefined : v[k]), data);
  }
  function put(el, value) {
    const text = value == null ? "" : String(value);
    if (el.tagName === "PROGRESS") { el.value = Number(value) || 0; el.textContent = text + " %"; }
    else if (el.textContent !== text) { el.textContent = text; }
  }
  function apply(data) {
    const rows = document.querySelectorAll("[data-row]");
    const lists = new Set([...rows].map(r => r.getAttribute("data-row").split(".")[0]));
    for (const list of lists) {
      const shown = document.querySelectorAll(`[data-row^="${list}."]`).length;
      if ((data[list] || []).length !== shown) { window.location.reload(); return; }
    }
    for (const row of rows) {
      const item = pick(data, row.getAttribute("data-row"));
      if (!item || item.identity !== row.getAttribute("data-key")) { window.location.reload(); return; }
      row.querySelectorAll("[data-field]").forEach(el => put(el, item[el.getAttribute("data-field")]));
    }
    document.querySelectorAll("[data-field]").forEach(el => {
      if (!el.closest("[data-row]")) { put(el, pick(data, el.getAttribute("data-field"))); }
    });
    // the throughput chart (an SVG image): reloaded when what it draws changed
    const img = document.querySelector("img[data-chart]");
    const version = pick(data, "chart.version");
    if (img && version != null && img.getAttribute("data-version") !== String(version)) {
      img.setAttribute("data-version", String(version));
      img.src = img.getAttribute("data-chart") + "&v=" + encodeURIComponent(String(version));
    }
    document.body.setAttribute("data-updated", String(Date.now()));
  }
  async function poll() {
    try {
      const answer = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (answer.ok) { apply(await answer.json()); }
    } catch (e) { /* the dashboard was stopped; try again later */ }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 2000);
})();
