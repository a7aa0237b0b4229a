// The elbow dashboard: reads the console API every few seconds and redraws
// what changed. Every value from the API goes into the page as text
// (textContent, attributes), never as HTML: diagnosis text holds markup-like
// snippets, and target responses are not ours to trust.
"use strict";

// Set once per page load; the browser test checks that it never changes,
// which proves that the page updates without reloading.
window.__loadId = window.__loadId || Date.now().toString(36) + Math.random().toString(36).slice(2);

const POLL_MS = 3000;
const ICON = { Green: "\u2713", Yellow: "!", Red: "\u2715", Grey: "\u2013" };
const SVG = "http://www.w3.org/2000/svg";
const FIELDS = [
  // [API field, label, kind]
  ["HealthCheckProtocol", "Protocol", "select"],
  ["HealthCheckPath", "Path", "text"],
  ["HealthCheckPort", "Port", "text"],
  ["HealthCheckIntervalSeconds", "Interval (s)", "int"],
  ["HealthCheckTimeoutSeconds", "Timeout (s)", "int"],
  ["HealthyThresholdCount", "Healthy threshold", "int"],
  ["UnhealthyThresholdCount", "Unhealthy threshold", "int"],
  ["Matcher", "Success codes (matcher)", "text"],
  ["DeregistrationDelay", "Deregistration delay (s)", "int"],
];

// el builds an element; strings among children become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function pill(status, color) {
  return el("span", { class: "pill color-" + (color || "Grey"), text: status || "Unknown" });
}

async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

// optional answers null when a route is unavailable (no enhanced health).
function optional(p) { return p.catch(() => null); }

function fmtTime(s) {
  const d = new Date(s);
  return isNaN(d) ? "" : d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function ago(s) {
  const secs = Math.max(0, Math.round((Date.now() - new Date(s)) / 1000));
  if (secs < 60) return secs + " s ago";
  if (secs < 3600) return Math.floor(secs / 60) + " min ago";
  return Math.floor(secs / 3600) + " h " + Math.floor((secs % 3600) / 60) + " min ago";
}

function pct(n, total) { return total > 0 ? (100 * n / total).toFixed(1) : "0.0"; }

// ---- environment ----------------------------------------------------------

function renderEnvironment(env, events) {
  const badge = document.getElementById("env-badge");
  const status = env ? env.HealthStatus : "Unknown";
  const color = env ? env.Color : "Grey";
  badge.className = "badge color-" + color;
  badge.setAttribute("aria-label", "Environment health: " + status + " (" + color + ")");
  badge.querySelector(".badge-icon").textContent = ICON[color] || "?";
  document.getElementById("env-status").textContent = status;
  document.getElementById("env-name").textContent = env ? env.EnvironmentName : "Enhanced health is not available";
  document.title = status + " \u2013 " + (env ? env.EnvironmentName : "elbow");

  const causes = document.getElementById("env-causes");
  const list = env ? env.Causes || [] : [];
  if (causes.dataset.key !== JSON.stringify(list)) {
    causes.dataset.key = JSON.stringify(list);
    causes.replaceChildren(...list.map((c) => el("li", { text: c })));
  }

  const changed = (events || []).find((e) => !e.InstanceId && /^Environment health has transitioned/.test(e.Message));
  document.getElementById("env-changed").textContent = changed
    ? "Status since " + fmtTime(changed.EventDate) + " (" + ago(changed.EventDate) + ")."
    : "No transition yet.";
  if (env) {
    const s = env.InstancesHealth, m = env.ApplicationMetrics;
    const counts = ["Ok", "Info", "Warning", "Degraded", "Severe", "Pending", "Unknown", "NoData"]
      .filter((k) => s[k] > 0).map((k) => s[k] + " " + k).join(", ");
    document.getElementById("env-summary").textContent =
      "Instances: " + (counts || "none") + ". Last " + (m.Duration || 10) + " s: " + m.RequestCount + " requests.";
  }
}

// ---- instances ------------------------------------------------------------

function renderInstances(ih) {
  const body = document.querySelector("#instances tbody");
  const list = ih ? ih.InstanceHealthList || [] : [];
  if (list.length === 0) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "12", class: "meta", text: "No instances." })));
    return;
  }
  body.replaceChildren(...list.map((i) => {
    const m = i.ApplicationMetrics || {}, sc = m.StatusCodes || {}, lat = m.Latency || {};
    const total = m.RequestCount || 0;
    const cpu = i.System ? (i.System.CPUUtilization.User + i.System.CPUUtilization.System).toFixed(1) + " %" : "\u2013";
    const cell = (label, text, cls) => el("td", { "data-label": label, class: cls, text });
    return el("tr", { "data-instance": i.InstanceId },
      cell("instance-id", i.InstanceId, "mono"),
      el("td", { "data-label": "status" }, pill(i.HealthStatus, i.Color)),
      // The version each instance runs: mixed during a rolling deployment.
      cell("version", i.Deployment ? i.Deployment.VersionLabel + " (" + i.Deployment.DeploymentId + ")" : "\u2013", "mono"),
      cell("cause", (i.Causes || []).join(" ")),
      cell("r/sec", (total / (m.Duration || 10)).toFixed(1), "num"),
      cell("%2xx", pct(sc.Status2xx, total), "num"),
      cell("%3xx", pct(sc.Status3xx, total), "num"),
      cell("%4xx", pct(sc.Status4xx, total), "num"),
      cell("%5xx", pct(sc.Status5xx, total), "num"),
      cell("p99", (lat.P99 || 0).toFixed(3), "num"),
      cell("p50", (lat.P50 || 0).toFixed(3), "num"),
      cell("cpu", cpu, "num"));
  }));
}

// ---- target groups --------------------------------------------------------

function groupValue(g, field) {
  // A GRPC group's success codes are gRPC codes (Matcher.GrpcCode).
  if (field === "Matcher") return g.Matcher ? (g.Matcher.GrpcCode || g.Matcher.HttpCode || "") : "";
  const v = g[field];
  return v === undefined || v === null ? "" : String(v);
}

function buildGroupCard(name) {
  const id = "group-" + name;
  const card = el("section", { class: "card group", id, "data-group": name, "aria-labelledby": id + "-h" },
    el("h2", { id: id + "-h", text: "Target group " + name }),
    el("p", { class: "group-settings" }),
    el("div", { class: "scroll" }, el("table", { class: "targets stack" },
      el("thead", {}, el("tr", {}, ...["target", "port", "state", "reason", "description"].map((h) => el("th", { text: h })))),
      el("tbody"))),
    el("div", { class: "diagnoses" }),
    el("h3", { text: "Health check settings" }),
    buildForm(name));
  return card;
}

function buildForm(name) {
  const form = el("form", { class: "hc", "data-group": name, novalidate: "" });
  for (const [field, label, kind] of FIELDS) {
    const inputId = "f-" + name + "-" + field;
    const errId = inputId + "-error";
    let input;
    if (kind === "select") {
      input = el("select", { id: inputId, name: field, "aria-describedby": errId },
        el("option", { value: "HTTP", text: "HTTP" }), el("option", { value: "HTTPS", text: "HTTPS" }));
    } else {
      input = el("input", { id: inputId, name: field, type: "text", autocomplete: "off", spellcheck: "false",
        inputmode: kind === "int" ? "numeric" : null, "aria-describedby": errId });
    }
    input.addEventListener("input", () => { form.dataset.dirty = "1"; });
    form.append(el("label", { for: inputId, "data-field": field }, label, input,
      el("span", { class: "field-error", id: errId, "aria-live": "polite" })));
  }
  form.append(el("div", { class: "form-actions" },
    el("button", { type: "submit", text: "Apply" }),
    el("span", { class: "form-status", role: "status", "aria-live": "polite" })));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); submitForm(form); });
  return form;
}

function fillForm(form, g) {
  form._loaded = {};
  form._grpc = !!(g.Matcher && g.Matcher.GrpcCode);
  for (const [field] of FIELDS) {
    const input = form.elements.namedItem(field);
    const v = groupValue(g, field);
    form._loaded[field] = v;
    input.value = v;
    input.closest("label").hidden = field === "DeregistrationDelay" && v === "";
  }
}

function clearErrors(form) {
  for (const e of form.querySelectorAll(".field-error")) e.textContent = "";
  for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
}

function showFieldError(form, field, message) {
  const input = form.elements.namedItem(field);
  if (!input) return false;
  const span = document.getElementById(input.getAttribute("aria-describedby"));
  span.textContent = span.textContent ? span.textContent + " " + message : message;
  input.setAttribute("aria-invalid", "true");
  return true;
}

async function submitForm(form) {
  const name = form.dataset.group;
  const status = form.querySelector(".form-status");
  const button = form.querySelector("button");
  clearErrors(form);
  status.className = "form-status";
  status.textContent = "";
  // Send only what changed, so that a change made meanwhile elsewhere (the
  // config file, the CLI) to another field is kept.
  const body = {};
  let bad = false;
  for (const [field, , kind] of FIELDS) {
    const input = form.elements.namedItem(field);
    const v = input.value.trim();
    if (v === form._loaded[field]) continue;
    if (kind === "int") {
      if (!/^-?\d+$/.test(v)) { showFieldError(form, field, JSON.stringify(v) + " is not a whole number"); bad = true; continue; }
      body[field] = Number(v);
    } else if (field === "Matcher") {
      body.Matcher = form._grpc ? { GrpcCode: v } : { HttpCode: v };
    } else {
      body[field] = v;
    }
  }
  if (bad) return;
  if (Object.keys(body).length === 0) { status.textContent = "Nothing changed."; return; }
  button.disabled = true;
  try {
    const r = await fetch("/api/v1/target-groups/" + encodeURIComponent(name), {
      method: "PATCH", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body), cache: "no-store",
    });
    const answer = await r.json().catch(() => ({}));
    if (r.ok) {
      const g = (answer.TargetGroups || [])[0];
      if (g) fillForm(form, g);
      delete form.dataset.dirty;
      status.className = "form-status ok";
      status.textContent = "Applied: it takes effect from each target's next health check.";
      refreshSoon();
      return;
    }
    const err = answer.Error || { Message: "HTTP " + r.status };
    let shown = false;
    for (const fe of answer.Errors || []) shown = showFieldError(form, fe.Field, fe.Message) || shown;
    status.className = "form-status error";
    status.textContent = shown ? "Not applied: see the fields marked above." : "Not applied: " + err.Message;
  } catch (e) {
    status.className = "form-status error";
    status.textContent = "Not applied: " + e.message;
  } finally {
    button.disabled = false;
  }
}

function renderDiagnosis(t) {
  const d = t.Diagnosis;
  const box = el("div", { class: "diagnosis", "data-target": t.Target.Id, "data-case": d.Case || "" },
    el("p", { class: "summary" }, "Diagnosis for " + t.Target.Id + ": ", el("span", { text: d.Summary })),
    d.Why ? el("p", { class: "why", text: d.Why }) : null);
  (d.Fixes || []).forEach((f, i) => {
    box.append(el("details", { class: "fix", open: i === 0 ? "" : null },
      el("summary", { text: "Fix " + (i + 1) + ": " + f.Title }),
      f.Detail ? el("pre", { text: f.Detail }) : null,
      f.TradeOff ? el("p", { class: "tradeoff", text: "Trade-off: " + f.TradeOff }) : null));
  });
  return box;
}

function renderGroups(groups, targets) {
  const root = document.getElementById("groups");
  const seen = new Set();
  groups.forEach((g, idx) => {
    const name = g.TargetGroupName;
    seen.add(name);
    let card = root.querySelector('section[data-group="' + CSS.escape(name) + '"]');
    if (!card) { card = buildGroupCard(name); root.append(card); }
    const form = card.querySelector("form");
    if (!form._loaded || !form.dataset.dirty) fillForm(form, g);

    card.querySelector(".group-settings").textContent =
      g.Protocol + ":" + g.Port + " \u00b7 check " + g.HealthCheckProtocol + " " + g.HealthCheckPath + " on " + g.HealthCheckPort +
      " every " + g.HealthCheckIntervalSeconds + " s (timeout " + g.HealthCheckTimeoutSeconds + " s, healthy " +
      g.HealthyThresholdCount + ", unhealthy " + g.UnhealthyThresholdCount + ") \u00b7 success codes " + groupValue(g, "Matcher") +
      " \u00b7 " + g.HealthyHostCount + " healthy, " + g.UnhealthyHostCount + " unhealthy";

    const list = (targets[idx] && targets[idx].TargetHealthDescriptions) || [];
    const key = JSON.stringify(list);
    if (card.dataset.key === key) return; // unchanged: keep open <details> as they are
    card.dataset.key = key;
    const body = card.querySelector("tbody");
    if (list.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "5", class: "meta", text: "No registered targets." })));
    } else {
      body.replaceChildren(...list.map((t) => {
        const h = t.TargetHealth || {};
        return el("tr", { "data-target": t.Target.Id },
          el("td", { "data-label": "target", class: "mono", text: t.Target.Id }),
          el("td", { "data-label": "port", class: "num", text: String(t.Target.Port) }),
          el("td", { "data-label": "state" }, el("span", { class: "pill state-" + h.State, text: h.State })),
          el("td", { "data-label": "reason", text: h.Reason || "" }),
          el("td", { "data-label": "description", text: h.Description || "" }));
      }));
    }
    card.querySelector(".diagnoses").replaceChildren(...list.filter((t) => t.Diagnosis).map(renderDiagnosis));
  });
  for (const card of root.querySelectorAll("section[data-group]")) {
    if (!seen.has(card.dataset.group)) card.remove();
  }
}

// ---- events ---------------------------------------------------------------

function renderEvents(events) {
  const ol = document.getElementById("events");
  const list = (events || []).slice(0, 100);
  const key = list.length + "|" + (list[0] ? list[0].EventDate + list[0].Message : "");
  if (ol.dataset.key === key) return;
  ol.dataset.key = key;
  if (list.length === 0) { ol.replaceChildren(el("li", { class: "meta", text: "No events yet." })); return; }
  ol.replaceChildren(...list.map((e) => el("li", {},
    el("time", { datetime: e.EventDate, text: fmtTime(e.EventDate) }),
    el("span", { class: "sev-" + e.Severity, text: e.Severity }),
    el("span", { class: "msg", text: (e.InstanceId ? e.InstanceId + ": " : "") + e.Message }))));
}

// ---- charts ---------------------------------------------------------------

const W = 600, H = 160, PAD_L = 58, PAD_B = 18, PAD_T = 8;

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// fmtAxis writes a scale value: whole numbers as they are, others with digits.
function fmtAxis(v, digits) { return Number.isInteger(v) ? String(v) : v.toFixed(Math.max(1, digits)); }

function axes(s, max, points, unit, digits) {
  const plotH = H - PAD_B - PAD_T;
  for (const f of [0, 0.5, 1]) {
    const y = PAD_T + plotH * (1 - f);
    s.append(svg("line", { class: "grid", x1: PAD_L, x2: W, y1: y, y2: y }));
    s.append(svg("text", { class: "axis-label", x: PAD_L - 4, y: y + 4, "text-anchor": "end" }, fmtAxis(max * f, digits) + unit));
  }
  s.append(svg("text", { class: "axis-label", x: PAD_L, y: H - 4 }, "\u221215 min"));
  s.append(svg("text", { class: "axis-label", x: W - 2, y: H - 4, "text-anchor": "end" }, "now"));
  if (points.length === 0) {
    s.append(svg("text", { class: "axis-label", x: (W + PAD_L) / 2, y: H / 2, "text-anchor": "middle" }, "No samples yet: one comes every 10 s."));
  }
}

function renderCharts(hist) {
  const points = hist ? hist.Points || [] : [];
  const slots = 90, slotW = (W - PAD_L) / slots, plotH = H - PAD_B - PAD_T;
  const x0 = (i) => PAD_L + (slots - points.length + i) * slotW;

  const req = document.getElementById("chart-requests");
  req.replaceChildren();
  const maxReq = niceMax(Math.max(0, ...points.map((p) => p.RequestCount)));
  axes(req, maxReq, points, "", 0);
  points.forEach((p, i) => {
    let y = PAD_T + plotH;
    const sc = p.StatusCodes;
    const g = svg("g");
    g.append(svg("title", {}, fmtTime(p.Time) + ": " + p.RequestCount + " requests (2xx " + sc.Status2xx + ", 3xx " + sc.Status3xx +
      ", 4xx " + sc.Status4xx + ", 5xx " + sc.Status5xx + ")"));
    for (const [cls, n] of [["c2xx", sc.Status2xx], ["c3xx", sc.Status3xx], ["c4xx", sc.Status4xx], ["c5xx", sc.Status5xx]]) {
      if (!n) continue;
      const h = plotH * n / maxReq;
      y -= h;
      g.append(svg("rect", { class: cls, x: x0(i) + 0.5, y, width: Math.max(1, slotW - 1), height: h }));
    }
    req.append(g);
  });

  const lat = document.getElementById("chart-latency");
  lat.replaceChildren();
  const maxLat = niceMax(Math.max(0.001, ...points.map((p) => p.P99)));
  axes(lat, maxLat, points, " s", maxLat < 0.01 ? 4 : 3);
  for (const [field, cls] of [["P50", "line-p50"], ["P99", "line-p99"]]) {
    if (points.length === 0) continue;
    const pts = points.map((p, i) => (x0(i) + slotW / 2).toFixed(1) + "," + (PAD_T + plotH * (1 - p[field] / maxLat)).toFixed(1));
    lat.append(svg("polyline", { class: cls, points: pts.join(" ") }));
  }
}

// ---- polling --------------------------------------------------------------

let timer = null;

async function refresh() {
  clearTimeout(timer);
  const conn = document.getElementById("conn-state");
  try {
    const [env, inst, tgs, evs, hist] = await Promise.all([
      optional(getJSON("/api/v1/environment")), optional(getJSON("/api/v1/instances")),
      getJSON("/api/v1/target-groups"), optional(getJSON("/api/v1/events")), optional(getJSON("/api/v1/history")),
    ]);
    const groups = tgs.TargetGroups || [];
    const targets = await Promise.all(groups.map((g) =>
      optional(getJSON("/api/v1/target-groups/" + encodeURIComponent(g.TargetGroupName) + "/targets"))));
    const events = evs ? evs.Events : [];
    renderEnvironment(env, events);
    renderInstances(inst);
    renderGroups(groups, targets);
    renderEvents(events);
    renderCharts(hist);
    conn.textContent = "";
    document.body.dataset.refreshedAt = String(Date.now());
  } catch (e) {
    conn.textContent = "Cannot reach the console (" + e.message + "); retrying.";
  } finally {
    timer = setTimeout(refresh, POLL_MS);
  }
}

function refreshSoon() { clearTimeout(timer); timer = setTimeout(refresh, 300); }

document.addEventListener("DOMContentLoaded", refresh);
