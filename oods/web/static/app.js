// The OODS status page: plain JavaScript, no build step, nothing fetched from elsewhere.
// Every view is drawn from the JSON API (/api/...), which other tools can read too.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const GENERATION_COLOURS = ["#2e9d5b", "#e0b422", "#e07b22", "#d7263d"];
const state = { instrument: null, dayObs: null, exposure: null };

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ""));
  const response = await fetch(`${path}?${query}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showError(error) {
  const box = document.getElementById("error");
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : "";
}

function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

// The focal plane: one rectangle per detector, placed by the server's layout.
function drawMap(container, detectors, paint) {
  container.replaceChildren();
  if (!detectors.length) { container.append(el("p", { class: "absent" }, "no detectors")); return; }
  const right = Math.max(...detectors.map(d => d.x + d.width));
  const top = Math.max(...detectors.map(d => d.y + d.height));
  const svg = el("svg:svg", { viewBox: `-0.2 -0.2 ${right + 0.4} ${top + 0.4}`, id: `${container.id}-svg` });
  for (const d of detectors) {
    const { cls, fill, title } = paint(d);
    const rect = el("svg:rect", {
      x: d.x, y: top - d.y - d.height, width: d.width, height: d.height,
      class: cls, "data-name": d.name, "data-detector": d.detector, "data-state": cls,
    });
    if (fill) rect.setAttribute("style", `fill: ${fill}`);
    rect.append(el("svg:title", {}, title));
    svg.append(rect);
  }
  container.append(svg);
}

function drawTimeline(timeline) {
  const box = document.getElementById("timeline");
  box.replaceChildren();
  const minutes = timeline.minutes;
  if (!minutes.length) { box.append(el("p", { class: "absent" }, "nothing ingested")); return; }
  const start = Date.parse(minutes[0].minute), end = Date.parse(minutes[minutes.length - 1].minute);
  const span = Math.max(15, (end - start) / 60000 + 1);  // at least a quarter hour wide
  const most = Math.max(...minutes.map(m => m.files));
  const svg = el("svg:svg", { viewBox: `0 0 ${span} 100`, preserveAspectRatio: "none" });
  for (const m of minutes) {
    const x = (Date.parse(m.minute) - start) / 60000, h = 95 * m.files / most;
    const bar = el("svg:rect", { x, y: 100 - h, width: 0.9, height: h });
    bar.append(el("svg:title", {}, `${m.minute}: ${m.files} files` +
      (m.latency_p50 != null ? `, latency p50 ${m.latency_p50.toFixed(2)} s` : "")));
    svg.append(bar);
  }
  box.append(svg);
  const hhmm = m => m.minute.slice(11, 16);
  box.append(el("p", {}, `files per minute (${timeline.source === "arrivals" ? "as they arrived" : "as catalogued"}), ` +
    `${hhmm(minutes[0])} to ${hhmm(minutes[minutes.length - 1])} UTC, at most ${most}`));
  const lat = timeline.latency_seconds;
  document.getElementById("latency").textContent = lat
    ? `arrival → queryable: p50 ${lat.p50.toFixed(2)} s, p95 ${lat.p95.toFixed(2)} s, max ${lat.max.toFixed(2)} s (${lat.files} files)`
    : "arrival → queryable latency: not recorded (no `oods serve` arrivals for this night)";
}

function drawFocalPlane(fp) {
  document.getElementById("fp-title").textContent = fp ? `${fp.instrument} ${fp.exposure}` : "";
  const box = document.getElementById("focal-plane");
  if (!fp) { box.replaceChildren(el("p", { class: "absent" }, "no exposure")); return; }
  drawMap(box, fp.detectors, d => ({
    cls: d.state,
    title: `${d.name} (${d.detector}): ${d.state}${d.reason ? " - " + d.reason : ""}`,
  }));
  const c = fp.counts;
  document.getElementById("fp-counts").textContent =
    `${c.arrived + c.corrected} of ${fp.detectors.length} arrived (${c.corrected} corrected), ${c.failed} failed, ${c.missing} missing`;
  document.body.dataset.focalPlane = `${fp.instrument}/${fp.exposure}`;
}

function drawExposures(night) {
  const body = document.querySelector("#exposures tbody");
  const rows = night.exposures.map(e => {
    const tr = el("tr", { "data-exposure": e.exposure });
    const got = e.arrived;
    if (e.expected && got < e.expected) tr.classList.add("incomplete");
    if (e.exposure === night.selected) tr.classList.add("selected");
    const count = `${got}${e.expected ? "/" + e.expected : ""}` + (e.failed ? ` ${e.failed}✗` : "") +
      (e.corrected ? ` ${e.corrected}✎` : "");
    for (const [text, cls] of [[e.exposure], [e.observation_type], [e.physical_filter], [e.target_name],
      [(e.datetime_begin || "").slice(11, 19)], [count, "count"]]) {
      tr.append(el("td", cls ? { class: cls } : {}, text ?? ""));
    }
    tr.addEventListener("click", () => selectExposure(e.exposure));
    return tr;
  });
  body.replaceChildren(...rows);
}

async function loadNight(params = {}) {
  try {
    const night = await api("/api/night", params);
    state.instrument = night.instrument; state.dayObs = night.day_obs; state.exposure = night.selected;
    const picker = document.getElementById("night-picker");
    picker.replaceChildren(...night.nights.map(n => {
      const option = el("option", { value: `${n.instrument}/${n.day_obs}` }, `${n.day_obs} ${n.instrument} (${n.exposures})`);
      option.selected = n.instrument === night.instrument && n.day_obs === night.day_obs;
      return option;
    }));
    const total = night.exposures.reduce((s, e) => s + e.arrived, 0);
    document.getElementById("night-summary").textContent = night.day_obs === null ? "nothing catalogued yet"
      : `${night.exposures.length} exposures, ${total} raws` +
        (night.expected_detectors ? ` of ${night.exposures.length * night.expected_detectors} expected` : "");
    drawExposures(night);
    drawFocalPlane(night.focal_plane);
    if (night.timeline) drawTimeline(night.timeline);
    document.getElementById("loaded").textContent = `loaded ${new Date().toISOString().slice(0, 19)}Z`;
    document.body.dataset.ready = "night";
    showError(null);
  } catch (error) { showError(error); }
}

async function selectExposure(exposure) {
  try {
    const fp = await api("/api/focal-plane", { instrument: state.instrument, exposure });
    state.exposure = exposure;
    for (const tr of document.querySelectorAll("#exposures tbody tr")) {
      tr.classList.toggle("selected", Number(tr.dataset.exposure) === exposure);
    }
    drawFocalPlane(fp);
    showError(null);
  } catch (error) { showError(error); }
}

async function loadSite() {
  try {
    const site = await api("/api/site");
    const retention = document.getElementById("retention");
    const r = site.retention;
    const table = el("table", { id: "retention-table" });
    const head = el("tr");
    head.append(...["class", "objects", "bytes", "share of capacity", "oldest object", "expires after"].map(h => el("th", {}, h)));
    const thead = el("thead");
    thead.append(head);
    const body = el("tbody");
    table.append(thead, body);
    for (const c of r.classes) {
      const tr = body.appendChild(el("tr", { "data-class": c.name }));
      const share = r.capacity ? c.bytes / r.capacity.bytes : null;
      const bar = el("span", { class: "bar" });
      if (share !== null) bar.append(el("span", { style: `width: ${Math.min(100, 100 * share).toFixed(1)}%` }));
      tr.append(el("td", {}, c.name), el("td", {}, c.objects), el("td", {}, bytes(c.bytes)));
      const cell = el("td"); cell.append(share === null ? el("span", { class: "absent" }, "capacity unknown") : bar);
      if (share !== null) cell.append(` ${(100 * share).toFixed(2)} %`);
      tr.append(cell, el("td", {}, c.oldest_key ? `${c.oldest_key} (${c.oldest_modified})` : "-"), el("td", {}, c.expires_after));
    }
    retention.replaceChildren(table, el("p", {}, r.capacity
      ? `${bytes(r.total_bytes)} of ${bytes(r.capacity.bytes)} (${r.capacity.source})`
      : (r.error || `${bytes(r.total_bytes)}; capacity unknown`)));
    const replica = document.getElementById("replica");
    const panel = site.panels.replica;
    if (!panel) replica.replaceChildren(el("p", { class: "absent" }, "replica: not installed"));
    else if (panel.error && panel.configured === undefined) replica.replaceChildren(el("p", {}, `replica: ${panel.error}`));
    else if (!panel.configured) replica.replaceChildren(el("p", { class: "absent", id: "replica-absent" }, "replica: not configured"));
    else {
      const lines = [];
      if (!panel.reachable) lines.push(`${panel.other} is not answering: ${panel.error}; push at most ${panel.push_at_most.datasets} datasets (${bytes(panel.push_at_most.bytes)})`);
      for (const way of ["push", "pull"]) {
        const p = panel[way];
        if (p) lines.push(`${way} ${p.source} → ${p.destination}: ${p.datasets} datasets, ${bytes(p.bytes)} pending, oldest ${p.oldest ?? "-"}`);
      }
      replica.replaceChildren(...lines.map(l => el("p", {}, l)));
    }
    const cat = site.catalog;
    document.getElementById("catalog").replaceChildren(el("p", {}, cat.version === null ? "no commit yet"
      : `${site.site} at ${site.endpoint}: catalog version ${cat.version}, last commit ${cat.committed_at}`));
    document.body.dataset.ready = "site";
    showError(null);
  } catch (error) { showError(error); }
}

async function loadCalib() {
  const exposure = document.getElementById("calib-exposure").value || state.exposure;
  if (!exposure) return;
  document.getElementById("calib-exposure").value = exposure;
  try {
    const calib = await api("/api/calib", {
      instrument: state.instrument, exposure,
      collections: document.getElementById("calib-collections").value,
    });
    const input = document.getElementById("calib-collections");
    if (!input.value) input.value = calib.collections.join(",");
    const kind = document.getElementById("calib-type").value;
    drawMap(document.getElementById("calib-map"), calib.detectors, d => {
      const found = d.calibrations[kind];
      if (!found) return { cls: "missing", title: `${d.name}: no ${kind}` };
      return {
        cls: `generation-${found.generation}`,
        fill: GENERATION_COLOURS[Math.min(found.generation, GENERATION_COLOURS.length - 1)],
        title: `${d.name}: ${kind} ${found.calibration_id} from ${found.collection}, valid from ${found.valid_begin ?? "always"}`,
      };
    });
    const generations = calib.generations[kind] || 0;
    document.getElementById("calib-legend").replaceChildren(...Array.from({ length: generations }, (_, g) => {
      const li = el("li"); const i = el("i", { style: `background: ${GENERATION_COLOURS[Math.min(g, 3)]}` });
      li.append(i, g === 0 ? "newest" : `${g} older`); return li;
    }), el("li", {}, "grey: none found"));
    const table = document.getElementById("calib-table");
    table.tHead.replaceChildren(el("tr"));
    table.tHead.rows[0].append(...["detector", ...calib.types].map(h => el("th", {}, h)));
    table.tBodies[0].replaceChildren(...calib.detectors.filter(d => d.has_raw).map(d => {
      const tr = el("tr"); tr.append(el("td", {}, d.name));
      for (const t of calib.types) {
        const c = d.calibrations[t];
        tr.append(el("td", {}, c ? `${c.collection} (gen ${c.generation})` : "none"));
      }
      return tr;
    }));
    document.body.dataset.ready = "calib";
    showError(null);
  } catch (error) { showError(error); }
}

function show(view) {
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== view;
  for (const link of document.querySelectorAll("nav a[data-view]")) link.classList.toggle("active", link.dataset.view === view);
  if (view === "site") loadSite();
  if (view === "calib") loadCalib();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("night-picker").addEventListener("change", event => {
    const [instrument, dayObs] = event.target.value.split("/");
    loadNight({ instrument, day_obs: dayObs });
  });
  document.getElementById("calib-go").addEventListener("click", loadCalib);
  document.getElementById("calib-type").addEventListener("change", loadCalib);
  window.addEventListener("hashchange", () => show((location.hash || "#night").slice(1)));
  const params = new URLSearchParams(location.search);
  loadNight({ instrument: params.get("instrument"), day_obs: params.get("day_obs"), exposure: params.get("exposure") })
    .then(() => show((location.hash || "#night").slice(1)));
});
