// FtpsMount dashboard: polls /api/mounts every 2 s and renders one card per profile. Plain DOM, no framework,
// nothing fetched from outside this service. Authenticated by the HttpOnly session cookie; POSTs carry the
// X-FtpsMount-Request header the service requires of cookie-authenticated changes.
"use strict";

const main = document.getElementById("mounts");
const service = document.getElementById("service");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
}

function percent(rate) { return rate === null || rate === undefined ? "–" : (rate * 100).toFixed(0) + " %"; }

function since(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 120) return s + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  return Math.round(s / 3600) + " h";
}

const SVG = "http://www.w3.org/2000/svg";
function graph(samples) {
  const w = 300, h = 70;
  if (samples.length === 1) samples = [samples[0], samples[0]]; // one sample: a flat line, not an invisible point
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "graph");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const max = Math.max(1, ...samples.map(s => Math.max(s.downloadBytesPerSecond, s.uploadBytesPerSecond)));
  const line = (key, cls) => {
    const p = document.createElementNS(SVG, "polyline");
    const n = Math.max(1, samples.length - 1);
    p.setAttribute("points", samples.map((s, i) => `${(i * w / n).toFixed(1)},${(h - 2 - s[key] / max * (h - 4)).toFixed(1)}`).join(" "));
    p.setAttribute("class", cls);
    svg.append(p);
  };
  line("downloadBytesPerSecond", "down");
  line("uploadBytesPerSecond", "up");
  return svg;
}

async function act(name, verb, button) {
  button.disabled = true;
  try {
    const r = await fetch(`/api/mounts/${encodeURIComponent(name)}/${verb}`, { method: "POST", headers: { "X-FtpsMount-Request": "1" } });
    if (!r.ok) alert((await r.json()).error || r.statusText);
  } finally {
    refresh();
  }
}

function card(m) {
  const s = m.stats;
  const last = m.throughput.length ? m.throughput[m.throughput.length - 1] : null;
  const rows = [
    ["server", m.url],
    ["mount point", m.mountPoint || "–"],
    ["state", m.state.toLowerCase() + (m.since ? " for " + since(m.since) : "") + (m.restarts ? ` · ${m.restarts} restart(s)` : "")],
  ];
  if (s) {
    rows.push(["TLS", s.tlsProtocol || "–"]);
    rows.push(["sessions", `${s.sessionsInUse} in use / ${s.sessionsOpen} open`]);
    rows.push(["cache hit rate", `blocks ${percent(s.blockCacheHitRate)} · metadata ${percent(s.metadataHitRate)}`]);
    rows.push(["transferred", `↓ ${bytes(s.bytesDownloaded)} · ↑ ${bytes(s.bytesUploaded)}`]);
    rows.push(["pending uploads", s.pendingUploads]);
  }
  if (m.nextAttempt) rows.push(["next attempt", "in " + Math.max(0, Math.round((Date.parse(m.nextAttempt) - Date.now()) / 1000)) + " s"]);
  const dl = el("dl");
  for (const [k, v] of rows) dl.append(el("dt", {}, k), el("dd", {}, v));

  const errors = [];
  if (m.lastError) errors.push(m.lastError);
  if (s) for (const e of s.errors.slice(-3)) errors.push(new Date(e.at).toLocaleTimeString() + " " + e.message);

  const wanted = m.state !== "Stopped";
  const mountButton = el("button", { class: "primary", "data-action": "mount" }, "Mount");
  mountButton.disabled = wanted;
  mountButton.onclick = () => act(m.name, "mount", mountButton);
  const unmountButton = el("button", { "data-action": "unmount" }, "Unmount");
  unmountButton.disabled = !wanted || m.state === "Stopping";
  unmountButton.onclick = () => act(m.name, "unmount", unmountButton);

  return el("section", { class: "card " + m.health, "data-profile": m.name, "data-state": m.state },
    el("h2", {}, m.name, el("span", { class: "state" }, m.state)),
    dl,
    graph(m.throughput),
    el("div", { class: "legend" }, el("span", { class: "d" }, "■ download"), " ", el("span", { class: "u" }, "■ upload"),
      last ? ` · now ↓ ${bytes(last.downloadBytesPerSecond)}/s ↑ ${bytes(last.uploadBytesPerSecond)}/s` : ""),
    errors.length ? el("ul", { class: "errors" }, ...errors.map(e => el("li", {}, e))) : null,
    el("div", { class: "actions" }, mountButton, unmountButton));
}

async function refresh() {
  try {
    const r = await fetch("/api/service", { cache: "no-store" });
    if (r.status === 401) { location.href = "/login"; return; }
    const info = await r.json();
    service.textContent = `service pid ${info.pid} · profiles ${info.profilesFile}`;
    main.replaceChildren(...info.mounts.map(card));
    if (!info.mounts.length) main.append(el("p", { class: "card" }, "No profiles yet: add some to " + info.profilesFile));
  } catch (e) {
    service.textContent = "the service does not answer: " + e;
  }
}

refresh();
setInterval(refresh, 2000);
