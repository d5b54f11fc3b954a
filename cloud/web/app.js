// The residents' page. Everything that comes from the API is put in the page with textContent
// (never innerHTML), so a resident's text can never become markup.
"use strict";

const API = "/api/v1";
const ZONE = "Europe/Paris";
const REFRESH_MS = 60000;
const LEVEL_CLASS = {
  "fluide": "fluide", "modéré": "modere", "chargé": "charge", "complet": "complet",
  "fermé": "neutre", "inconnu": "neutre",
  "freeFlow": "fluide", "heavy": "modere", "congested": "charge", "impossible": "bloque",
  "unknown": "neutre",
};
const TRAFFIC_LABEL = {
  freeFlow: "fluide", heavy: "dense", congested: "saturé", impossible: "bloqué", unknown: "inconnu",
};
const STATUS = {
  open: "ouvert", acknowledged: "pris en compte", in_progress: "en cours", closed: "traité",
  rejected: "rejeté",
};
const SEVERITY = { Extreme: "extrême", Severe: "forte", Moderate: "modérée", Minor: "faible" };
const hhmm = new Intl.DateTimeFormat("fr-FR", { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
const dayHhmm = new Intl.DateTimeFormat("fr-FR", {
  timeZone: ZONE, weekday: "long", hour: "2-digit", minute: "2-digit",
});
const fmt = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 0 });

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

function replace(container, nodes) { container.replaceChildren(...nodes); }

function ago(iso) {
  if (!iso) return "jamais mesuré";
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
  if (minutes < 1) return "à l'instant";
  if (minutes < 60) return `il y a ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `il y a ${hours} h ${String(minutes % 60).padStart(2, "0")}`;
}

function badge(level, label) {
  return el("span", { class: `badge level-${LEVEL_CLASS[level] || "neutre"}` }, label || level);
}

async function getJson(path, cache) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, cache: cache || "default" });
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json();
}

// --- waste centres ---------------------------------------------------------------------------

function waitText(wait) {
  if (wait.level === "fermé") return "Fermé";
  if (wait.level === "inconnu") return "Attente inconnue pour le moment";
  if (wait.wait_low_min !== null && wait.wait_high_min !== null) {
    return `Attente estimée : ${fmt.format(wait.wait_low_min)} à ${fmt.format(wait.wait_high_min)} min`;
  }
  if (wait.level === "complet") return "Site complet : attente à l'entrée";
  return "Attente en minutes non mesurée sur ce site";
}

function centreCard(centre) {
  const wait = centre.wait;
  const freshness = wait.stale
    ? el("p", { class: "stale" }, `Données anciennes (${ago(wait.observed_at)}) : niveau inconnu`)
    : el("p", { class: "muted" }, `Mesuré ${ago(wait.observed_at)}`, " · ",
      el("time", { datetime: wait.observed_at }, wait.observed_at ? hhmm.format(new Date(wait.observed_at)) : ""));
  const opening = wait.open === false && centre.next_opening
    ? el("p", {}, `Prochaine ouverture : ${dayHhmm.format(new Date(centre.next_opening))}`) : null;
  const more = el("button", { type: "button", class: "secondary", "aria-expanded": "false" },
    "Prévision et meilleur moment");
  const forecast = el("div", { hidden: "" });
  more.addEventListener("click", () => toggleForecast(centre, more, forecast));
  const title = centre.commune ? `${centre.name} (${centre.commune})` : centre.name;
  return el("li", { class: "card", "data-centre": centre.id },
    el("h3", {}, title),
    el("p", {}, badge(wait.level), " ", waitText(wait)),
    wait.queue !== null ? el("p", {}, `${wait.queue} véhicule(s) dans la file`) : null,
    opening, freshness, more, forecast);
}

async function toggleForecast(centre, button, box) {
  const open = button.getAttribute("aria-expanded") === "true";
  button.setAttribute("aria-expanded", String(!open));
  box.hidden = open;
  if (open) return;
  replace(box, [el("p", { class: "muted" }, "Chargement…")]);
  try {
    const detail = await getJson(`${API}/waste-centres/${encodeURIComponent(centre.id)}`);
    const best = detail.best_time
      ? el("p", {}, el("strong", {}, "Meilleur moment : "),
        `${hhmm.format(new Date(detail.best_time.start))} (environ ${fmt.format(detail.best_time.wait_min)} min)`)
      : el("p", {}, "Pas de prévision d'un moment calme dans les prochaines heures.");
    const slots = el("ul", { class: "slots", "aria-label": "Prévision par quart d'heure" },
      ...detail.forecast.map((slot) => el("li", {},
        el("time", { datetime: slot.start }, hhmm.format(new Date(slot.start))), el("br"),
        slot.level ? badge(slot.level) : "–")));
    replace(box, [best, detail.forecast.length ? slots : el("p", { class: "muted" }, "Aucune prévision.")]);
  } catch (error) {
    replace(box, [el("p", { class: "error" }, "Prévision indisponible pour le moment.")]);
  }
}

async function loadWaste() {
  try {
    const body = await getJson(`${API}/waste-centres?limit=200`);
    state.centres = body.items;
    replace($("waste-list"), body.items.map(centreCard));
    $("waste-status").textContent = body.items.length
      ? `${body.items.length} déchetterie(s). Mise à jour chaque minute.` : "Aucune déchetterie.";
  } catch (error) {
    $("waste-status").textContent = "Attente aux déchetteries indisponible pour le moment.";
  }
  drawMap();
}

// --- traffic ---------------------------------------------------------------------------------

function laneRow(feature) {
  const p = feature.properties;
  const label = TRAFFIC_LABEL[p.level] || p.level;
  const figures = [
    p.flow_vph !== null ? `${fmt.format(p.flow_vph)} véh./h` : null,
    p.occupancy_pct !== null ? `occupation ${fmt.format(p.occupancy_pct)} %` : null,
    p.speed_kmh !== null ? `${fmt.format(p.speed_kmh)} km/h` : null,
  ].filter(Boolean).join(" · ");
  return el("li", {},
    el("strong", {}, p.segment || `${p.device} voie ${p.lane}`), " ", badge(p.level, label),
    el("br"), figures,
    el("br"), el("span", { class: p.stale ? "stale" : "muted" },
      p.stale ? `Station muette (${ago(p.observed_at)})` : `Mesuré ${ago(p.observed_at)}`));
}

async function loadTraffic() {
  try {
    const body = await getJson(`${API}/traffic`);
    state.lanes = body.features;
    replace($("traffic-list"), body.features.map(laneRow));
    $("traffic-status").textContent = body.features.length
      ? "Niveaux par voie, d'après les boucles de comptage." : "Aucune station de comptage.";
  } catch (error) {
    $("traffic-status").textContent = "Circulation indisponible pour le moment.";
  }
  drawMap();
}

function drawMap() {
  const map = $("map");
  const marks = [];
  for (const f of state.lanes) {
    if (f.geometry && f.geometry.type === "Point") {
      marks.push({ lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1], kind: "lane",
        level: f.properties.level, name: f.properties.segment || f.id });
    }
  }
  for (const c of state.centres) {
    if (c.longitude !== null && c.latitude !== null) {
      marks.push({ lon: c.longitude, lat: c.latitude, kind: "centre", level: c.wait.level, name: c.name });
    }
  }
  const title = map.querySelector("title");
  map.replaceChildren(title);
  if (!marks.length) return;
  const lons = marks.map((m) => m.lon), lats = marks.map((m) => m.lat);
  const [x0, x1, y0, y1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const sx = (v) => 20 + (x1 > x0 ? (v - x0) / (x1 - x0) : 0.5) * 280;
  const sy = (v) => 180 - (y1 > y0 ? (v - y0) / (y1 - y0) : 0.5) * 160;
  marks.forEach((m, i) => {
    const cls = `dot-${LEVEL_CLASS[m.level] || "neutre"}`;
    const x = sx(m.lon) + (i % 3) * 4, y = sy(m.lat);
    const shape = m.kind === "centre"
      ? svg("rect", { x: x - 7, y: y - 7, width: 14, height: 14, class: cls })
      : svg("circle", { cx: x, cy: y, r: 7, class: cls });
    const name = svg("title", {});
    name.textContent = `${m.name} : ${TRAFFIC_LABEL[m.level] || m.level}`;
    shape.append(name);
    map.append(shape);
  });
}

// --- alerts ----------------------------------------------------------------------------------

async function loadAlerts() {
  const box = $("alert-list");
  try {
    const body = await getJson(`${API}/alerts`);
    const alerts = body.alerts || [];
    if (!alerts.length) { replace(box, [el("p", { class: "muted" }, "Aucune alerte en cours.")]); return; }
    replace(box, alerts.map((a) => {
      const info = a.info || {};
      return el("article", { class: `alert colour-${info.colour || 0}` },
        el("h3", {}, info.headline || info.event || "Alerte"),
        el("p", {}, `Gravité ${SEVERITY[info.severity] || info.severity || "?"}`,
          info.area ? ` · ${info.area.areaDesc}` : "",
          info.expires ? ` · jusqu'à ${dayHhmm.format(new Date(info.expires))}` : ""),
        info.description ? el("p", {}, info.description) : null,
        info.instruction ? el("p", {}, el("strong", {}, "Consigne : "), info.instruction) : null);
    }));
  } catch (error) {
    replace(box, [el("p", { class: "muted" }, "Alertes indisponibles pour le moment.")]);
  }
}

// --- reports ---------------------------------------------------------------------------------

function position() {
  const lat = parseFloat($("latitude").value.replace(",", "."));
  const lon = parseFloat($("longitude").value.replace(",", "."));
  return Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon } : null;
}

function locate() {
  const status = $("locate-status");
  if (!navigator.geolocation) { status.textContent = "Localisation non disponible : saisissez la position."; return; }
  status.textContent = "Recherche de votre position…";
  navigator.geolocation.getCurrentPosition((where) => {
    $("latitude").value = where.coords.latitude.toFixed(6);
    $("longitude").value = where.coords.longitude.toFixed(6);
    status.textContent = `Position trouvée (à ${fmt.format(where.coords.accuracy)} m près).`;
    loadNearby();
  }, () => { status.textContent = "Position refusée ou introuvable : saisissez-la."; },
  { enableHighAccuracy: true, timeout: 15000 });
}

function problemText(problem) {
  const fields = (problem.errors || []).map((e) => (e.loc || []).slice(-1)[0]).filter(Boolean);
  const detail = problem.detail || problem.title || "erreur";
  return fields.length ? `${detail} (champ : ${fields.join(", ")})` : detail;
}

async function sendReport(event) {
  event.preventDefault();
  const result = $("report-result");
  const where = position();
  if (!where) {
    replace(result, [el("p", { class: "error" }, "Indiquez la position (bouton « Utiliser ma position » ou latitude et longitude).")]);
    $("latitude").focus();
    return;
  }
  const form = new FormData();
  form.set("lat", String(where.lat));
  form.set("long", String(where.lon));
  form.set("category", $("category").value);
  form.set("description", $("description").value);
  if ($("address").value.trim()) form.set("address", $("address").value.trim());
  const photo = $("photo").files[0];
  if (photo) form.set("photos", photo);
  $("send").disabled = true;
  try {
    const response = await fetch(`${API}/reports`, { method: "POST", body: form });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      const id = body.id ?? "";
      replace(result, [el("p", { class: "ok" }, `Merci ! Votre signalement n° ${id} est enregistré.`)]);
      $("report-form").reset();
      loadNearby(where);
    } else if (response.status === 429) {
      replace(result, [el("p", { class: "error" }, "Trop d'envois : réessayez dans quelques minutes.")]);
    } else {
      replace(result, [el("p", { class: "error" }, `Signalement refusé : ${problemText(body)}`)]);
    }
  } catch (error) {
    replace(result, [el("p", { class: "error" }, "Envoi impossible : vérifiez votre connexion.")]);
  } finally {
    $("send").disabled = false;
  }
}

async function loadNearby(given) {
  const where = given || position();
  if (!where) return;
  try {
    // Revalidated (ETag): a report just sent must show even if the list was fetched moments ago.
    const body = await getJson(`${API}/reports?lat=${where.lat}&long=${where.lon}`, "no-cache");
    const reports = body.items || [];
    $("nearby-status").textContent = reports.length
      ? "Déjà signalé près d'ici :" : "Aucun signalement ouvert près d'ici.";
    replace($("nearby-list"), reports.map((r) => el("li", { "data-report": r.id },
      el("strong", {}, r.category_name || r.category || ""), " ",
      r.distance_m !== undefined && r.distance_m !== null ? `à ${fmt.format(r.distance_m)} m` : "",
      el("br"), r.description || "",
      el("br"), el("span", { class: "muted" }, `${STATUS[r.status] || r.status || ""} · signalé ${r.created_at ? ago(r.created_at) : ""}`))));
  } catch (error) {
    $("nearby-status").textContent = "Signalements proches indisponibles pour le moment.";
  }
}

// --- start -----------------------------------------------------------------------------------

const state = { centres: [], lanes: [] };

function refresh() { loadWaste(); loadTraffic(); loadAlerts(); }

document.addEventListener("DOMContentLoaded", () => {
  $("locate").addEventListener("click", locate);
  $("report-form").addEventListener("submit", sendReport);
  $("longitude").addEventListener("change", () => loadNearby());
  refresh();
  setInterval(refresh, REFRESH_MS);
});
