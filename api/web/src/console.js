// The dispatcher's console: the day's stops on a map by zone and risk, the couriers where
// they are, a proposed plan drawn route by route, edited by hand with the consequences
// shown at once, published; what is left out and why; any dossier's custody and bag.
import 'leaflet/dist/leaflet.css';
import './console.css';
import { api, apiFile, clock, dateOf, dateText, dayAfter, el, parseDate, slotText, today, ProblemError } from './common.js';
import { newMap, showOutlines, L, tip } from './map.js';
// The console's words in both languages; a test holds them to every event, state and
// problem code the server has.
import words from './console-words.json';
import { complaintsPanel } from './console-complaints.js';

let lang = localStorage.getItem('console-lang') === 'en' ? 'en' : 'vi';
const t = (key, vars = {}) => (words[lang][key] ?? key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '');

// The risks' colours are console.css's; every colour also has its words beside it.
const risks = ['overdue', 'due_today', 'at_risk', 'on_track'];
const routeColours = ['#1f57c3', '#a6266e', '#00756f', '#6a3fb5', '#9b4d00', '#2c6e00', '#b0222b', '#005f8f', '#7c5a00', '#4f5b66', '#8e24aa', '#00695c'];

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem('console-token'),
  refresh: sessionStorage.getItem('console-refresh'),
  offices: [], couriers: [], office: null, day: today(),
  demand: new Map(), // task id → the demand's stop: receipt code, slot, risk, address
  stops: new Map(), // the demand's stops and the plan's, as stopsOf has them
  plan: null, map: null, layers: null,
  positions: new Map(), // courier id → latest point, moved by the live stream
  outcomes: new Map(), // task id → done or failed, as the stream told since the day was read
  alerts: [], // the office's open delay alerts, newest first
  // view counts the office and day shown: an answer for an earlier one is dropped.
  view: 0,
  busy: false, // a change to the plan is on its way: its buttons wait
  reports: null, // the reports' view, once opened
};

function say(text) {
  $('status').textContent = text;
}

function fail(err) {
  const box = $('error');
  if (err instanceof ProblemError && err.status === 401) {
    keepSession(null);
    showLogin();
    box.textContent = t('session');
  } else if (err instanceof ProblemError && err.code === 'NETWORK') {
    box.textContent = t('network');
  } else if (err instanceof ProblemError && words[lang]['err_' + err.code]) {
    box.textContent = t('err_' + err.code);
  } else {
    // A code the console has no words for: the server's own detail.
    box.textContent = err.code ? `${err.message} (${err.code})` : String(err.message || err);
  }
  box.hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

function keepSession(tokens) {
  state.token = tokens?.access_token ?? null;
  state.refresh = tokens?.refresh_token ?? null;
  for (const [key, value] of [['console-token', state.token], ['console-refresh', state.refresh]]) {
    if (value) sessionStorage.setItem(key, value);
    else sessionStorage.removeItem(key);
  }
}

// call is the API as the logged-in dispatcher. Access tokens live minutes: an expired one
// is renewed once with the refresh token (one renewal at a time) and the call repeated;
// a refused renewal ends the session.
let renewing = null;
async function withSession(send) {
  try {
    return await send(state.token);
  } catch (err) {
    if (!(err instanceof ProblemError) || err.status !== 401 || !state.refresh) throw err;
    renewing ??= api('POST', '/v1/auth/refresh', { body: { refresh_token: state.refresh } })
      .then(keepSession).finally(() => { renewing = null; });
    await renewing;
    return send(state.token);
  }
}
const call = (method, path, body) => withSession((token) => api(method, path, { body, token }));
const complaints = complaintsPanel({ call, t, lang: () => lang, office: () => state.office, fail, say });

// busyWith runs a change to the plan with its buttons disabled, so that a second click
// cannot send it twice.
async function busyWith(change) {
  state.busy = true;
  updateButtons();
  try {
    await change();
  } catch (err) {
    fail(err);
  } finally {
    state.busy = false;
    updateButtons();
  }
}

function translatePage() {
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  const toggle = $('lang-toggle');
  toggle.textContent = t('lang');
  toggle.lang = lang === 'vi' ? 'en' : 'vi';
  $('map').setAttribute('aria-label', t('map'));
  $('day-prev').setAttribute('aria-label', t('prevDay'));
  $('day-next').setAttribute('aria-label', t('nextDay'));
  if (state.day) $('day').value = dateText(state.day, lang);
  document.querySelector('.skip').textContent = t('skip');
  document.querySelector('[role=tablist]').setAttribute('aria-label', t('panel'));
  renderLegend();
  if (state.plan || state.demand.size) render();
  state.reports?.translate();
  complaints.render();
}

// --- login -------------------------------------------------------------------------------

function showLogin() {
  stopFollowing();
  $('toolbar').hidden = true;
  $('workspace').hidden = true;
  $('login-form').hidden = false;
  $('username').focus();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  clearError();
  try {
    keepSession(await api('POST', '/v1/auth/login', { body: { username: $('username').value, password: $('password').value } }));
  } catch (err) {
    if (err.status === 401) {
      $('error').textContent = t('badLogin');
      $('error').hidden = false;
      $('password').select();
    } else {
      fail(err);
    }
    return;
  }
  $('password').value = '';
  await start().catch(fail);
});

$('logout').addEventListener('click', async () => {
  try {
    await call('POST', '/v1/auth/logout');
  } catch {
    // The token is forgotten here whatever the server says.
  }
  keepSession(null);
  location.reload();
});

$('lang-toggle').addEventListener('click', () => {
  lang = lang === 'vi' ? 'en' : 'vi';
  localStorage.setItem('console-lang', lang);
  translatePage();
});

// The reports take the day's place; their module (and the charting library) is fetched
// the first time they are opened.
$('view-reports').addEventListener('click', async () => {
  const open = $('reports').hidden;
  clearError();
  $('reports').hidden = !open;
  $('workspace').hidden = open;
  $('day-tools').hidden = open;
  $('view-reports').textContent = t(open ? 'console' : 'reports');
  $('view-reports').dataset.t = open ? 'console' : 'reports';
  if (!open) return;
  try {
    if (!state.reports) {
      const { openReports } = await import('./reports.js');
      state.reports = openReports({
        t, lang: () => lang, call, fail, clearError, offices: state.offices, couriers: state.couriers,
        download: (path, accept) => withSession((token) => apiFile(path, { token, accept })),
      });
    }
    await state.reports.show();
  } catch (err) {
    fail(err);
  }
});

async function start() {
  const me = await call('GET', '/v1/me');
  if (me.role !== 'dispatcher' && me.role !== 'admin') {
    fail(new Error(t('wrongRole')));
    return;
  }
  const [offices, couriers] = await Promise.all([call('GET', '/v1/post-offices?limit=500'), call('GET', '/v1/couriers?limit=500')]);
  state.offices = me.role === 'admin' ? offices.items : offices.items.filter((o) => me.post_office_ids.includes(o.id));
  state.couriers = couriers.items;
  const select = $('office');
  select.replaceChildren(...state.offices.map((o) => el('option', { value: o.id }, `${o.code} · ${o.name}`)));
  $('login-form').hidden = true;
  $('toolbar').hidden = false;
  $('workspace').hidden = false;
  // The office and day shown are in the address, so that a reload or a shared link keeps them.
  const wanted = new URLSearchParams(location.hash.slice(1));
  if (/^\d{4}-\d{2}-\d{2}$/.test(wanted.get('day') ?? '')) state.day = wanted.get('day');
  const first = state.offices.find((o) => o.id === wanted.get('office')) ?? state.offices[0];
  if (!first) return;
  $('office').value = first.id;
  state.map = newMap($('map'), { center: [first.location.lat, first.location.lon] });
  // The map's box changes with the status line and the window: Leaflet is told, so that a
  // fit stays a fit.
  new ResizeObserver(() => state.map.invalidateSize()).observe($('map'));
  state.layers = {
    outlines: L.layerGroup().addTo(state.map), office: L.layerGroup().addTo(state.map), stops: L.layerGroup().addTo(state.map),
    routes: L.layerGroup().addTo(state.map), couriers: L.layerGroup().addTo(state.map),
  };
  await chooseOffice(first.id);
}

// --- the day -----------------------------------------------------------------------------

// chooseOffice shows another post office on the same map: its outlines, its building,
// its day.
async function chooseOffice(id) {
  state.office = state.offices.find((o) => o.id === id);
  if (!state.office) return;
  fillCashCouriers();
  complaints.load();
  const center = [state.office.location.lat, state.office.location.lon];
  state.map.fitBounds(L.geoJSON(state.office.service_area).getBounds(), { padding: [12, 12] });
  state.layers.office.clearLayers();
  L.circleMarker(center, { radius: 9, color: '#111', weight: 3, fillColor: '#fff', fillOpacity: 1 })
    .bindTooltip(tip(state.office.name)).addTo(state.layers.office);
  await Promise.all([showOutlines(state.layers.outlines, center), loadDay()]);
}

// loadDemand is the office's open stops of the day, by task.
async function loadDemand() {
  const demand = await call('GET', `/v1/dispatch/demand?post_office_id=${state.office.id}&date=${state.day}`);
  return new Map([...demand.zones.flatMap((z) => z.stops), ...demand.unzoned, ...demand.outside_area].map((s) => [s.task_id, s]));
}

async function loadDay() {
  clearError();
  const view = ++state.view;
  history.replaceState(null, '', '#' + new URLSearchParams({ office: state.office.id, day: state.day }));
  const [demand, plans] = await Promise.all([loadDemand(),
    call('GET', `/v1/dispatch/plans?post_office_id=${state.office.id}&date=${state.day}`)]);
  if (view !== state.view) return; // another office or day was chosen meanwhile
  state.demand = demand;
  state.plan = plans.items.find((p) => p.state === 'draft' || p.state === 'published') ?? null;
  state.outcomes.clear();
  render();
  fitRoutes();
  await Promise.all([refreshCouriers(), loadAlerts()]);
  follow();
  // A plan still being made (asked from another screen, or before a reload) is followed.
  const running = plans.items.find((p) => p.state === 'planning');
  if (running) planDay(null, null, null, running);
}

$('office').addEventListener('change', (e) => chooseOffice(e.target.value).catch(fail));
// The day is typed as the console writes it (a browser's date field writes it the
// browser's way, 12/06/2026 for 6 December in an American one), or stepped a day at a time.
function showDay(day) {
  state.day = day;
  $('day').value = dateText(day, lang);
  loadDay().catch(fail);
}
$('day').addEventListener('change', (e) => {
  const day = parseDate(e.target.value);
  if (!day) {
    fail(new Error(t('badDay')));
    e.target.value = dateText(state.day, lang);
    return;
  }
  showDay(day);
});
$('day-prev').addEventListener('click', () => showDay(dayAfter(state.day, -1)));
$('day-next').addEventListener('click', () => showDay(dayAfter(state.day, 1)));

$('plan').addEventListener('click', async () => {
  // Planning a published day makes a new draft beside it: the dispatcher is told first.
  if (state.plan?.state === 'published' && !await ask(t('confirmReplan', { d: dateText(state.day, lang), n: state.demand.size }))) return;
  planDay('POST', '/v1/dispatch/plans', { post_office_id: state.office.id, date: state.day, time_limit_ms: 3000 });
});
$('replan').addEventListener('click', () => planDay('POST', `/v1/dispatch/plans/${state.plan.id}/replan`, { version: state.plan.version, time_limit_ms: 3000 }));

// ask puts a question in the page's dialog and answers whether the dispatcher went ahead.
function ask(text) {
  const box = $('confirm');
  $('confirm-text').textContent = text;
  box.returnValue = '';
  box.showModal();
  return new Promise((resolve) => box.addEventListener('close', () => resolve(box.returnValue === 'ok'), { once: true }));
}

// planDay asks for a plan (method, path, body), or follows one already asked, until it is
// made.
function planDay(method, path, body, asked) {
  clearError();
  say(t('planning'));
  const view = state.view;
  return busyWith(async () => {
    // The plan is of the demand now: the stops' words are read again with it.
    const [demand, planning] = await Promise.all([loadDemand(), asked ?? call(method, path, body)]);
    const plan = await planMade(planning, view);
    if (view !== state.view) return;
    state.demand = demand;
    state.plan = plan;
    render();
    fitRoutes();
    say(t('planned', { n: plan.planned_stops, r: plan.routes.filter((r) => r.stops.length).length, k: (plan.distance_m / 1000).toFixed(1), u: plan.unplanned.length }));
  });
}

// planMade follows a plan asked for until it is made, on the live stream's plan_progress
// events: the progress bar and the status line tell the search's phase, time, best
// distance and stops still out, the map its best routes, and the stop button ends the
// search keeping its best routes. The plan is read again when an event needs what only
// the plan holds (its points, routes too long for an event), when the search ends, and
// every 5 s (every second until the stream has told of it), since the stream is not a
// record.
const planEnds = new Set(['done', 'stopped', 'failed']);
// planProgressSeen keeps each plan's last progress told, for a plan whose search told it
// before the answer that names the plan came back.
const planProgressSeen = new Map();
async function planMade(plan, view) {
  const bar = $('plan-progress');
  const stop = $('plan-stop');
  stop.onclick = () => call('POST', `/v1/dispatch/plans/${plan.id}/stop`).catch(fail);
  bar.hidden = stop.hidden = plan.state !== 'planning';
  let points = plan.progress?.points;
  // from says where the progress shown came from (live or read), for the page's tests.
  const show = (p, from) => {
    bar.dataset.from = from;
    bar.value = p.limit_ms ? Math.min(1, p.elapsed_ms / p.limit_ms) : 0;
    say(t('planProgress', { p: p.phase, e: (p.elapsed_ms / 1000).toFixed(1), l: (p.limit_ms / 1000).toFixed(0), k: (p.distance_m / 1000).toFixed(1), u: p.unplanned_stops }));
    if (points) drawProgress({ ...p, points });
  };
  let wake = () => {};
  const early = planProgressSeen.get(plan.id); // told before the answer came
  if (early) {
    show(early, 'live');
    if (planEnds.has(early.phase)) plan.state = 'ended';
  }
  state.planFollowed = {
    id: plan.id,
    progress: (p) => {
      show(p, 'live');
      if (planEnds.has(p.phase) || !points || !p.routes) wake();
    },
  };
  try {
    if (plan.state === 'ended') plan = await call('GET', `/v1/dispatch/plans/${plan.id}`);
    while (plan.state === 'planning' && view === state.view) {
      if (plan.progress) show(plan.progress, 'read');
      // Until the stream has told anything of the plan (it may be reconnecting), the plan
      // is read every second; then every 5 s.
      const heard = planProgressSeen.has(plan.id);
      await new Promise((resolve) => { wake = resolve; setTimeout(resolve, heard ? 5000 : 1000); });
      plan = await call('GET', `/v1/dispatch/plans/${plan.id}`);
      points = plan.progress?.points ?? points;
    }
  } finally {
    state.planFollowed = null;
  }
  bar.hidden = stop.hidden = true;
  if (plan.state === 'failed') throw new Error(plan.failure);
  return plan;
}

$('publish').addEventListener('click', async () => {
  const routes = state.plan.routes.filter((r) => r.stops.length);
  if (!await ask(t('confirmPublish', { d: dateText(state.day, lang), r: routes.length, s: state.plan.planned_stops, c: new Set(routes.map((r) => r.courier_id)).size }))) return;
  publish();
});

const publish = () => busyWith(async () => {
  clearError();
  state.plan = await call('POST', `/v1/dispatch/plans/${state.plan.id}/publish`, { version: state.plan.version });
  render();
  fitRoutes();
  say(t('publishedOk'));
  await refreshCouriers();
});

// editRoute sets a courier's stops by hand; the answer is the whole plan again, with each
// route's lateness, overload and overtime: the feedback comes from the server's own rules.
// Without trips the server cuts the order into trips where the bag would overflow; a lock
// alone keeps the route's own.
function editRoute(courierId, taskIds, locked, trips) {
  clearError();
  return busyWith(async () => {
    state.plan = await call('PUT', `/v1/dispatch/plans/${state.plan.id}/routes/${courierId}`, { version: state.plan.version, task_ids: taskIds, locked, ...(trips ? { trips } : {}) });
    render();
    const r = state.plan.routes.find((x) => x.courier_id === courierId);
    if (r) {
      const ok = r.late_stops === 0 && r.overload_items === 0 && r.over_shift_minutes === 0;
      say(t('edited', { c: courierName(courierId), s: r.stops.length, l: r.late_stops, o: r.overload_items, x: r.over_shift_minutes }) + ' — ' + t(ok ? 'feasible' : 'notFeasible'));
    }
  });
}

const officeCouriers = () => state.couriers.filter((c) => c.post_office_id === state.office.id && c.active);
const routeOf = (courierId) => state.plan.routes.find((r) => r.courier_id === courierId);
const taskIds = (route) => (route ? route.stops.map((s) => s.task_id) : []);

function moveStop(taskId, fromCourier, toCourier) {
  if (toCourier === '') {
    const from = routeOf(fromCourier);
    return editRoute(fromCourier, taskIds(from).filter((id) => id !== taskId), from.locked);
  }
  const to = routeOf(toCourier);
  return editRoute(toCourier, [...taskIds(to), taskId], to?.locked ?? false);
}

function reorder(courierId, index, delta) {
  const route = routeOf(courierId);
  const ids = taskIds(route);
  const j = index + delta;
  if (j < 0 || j >= ids.length) return;
  [ids[index], ids[j]] = [ids[j], ids[index]];
  return editRoute(courierId, ids, route.locked);
}

// --- drawing -------------------------------------------------------------------------------

function courierName(id) {
  const c = state.couriers.find((x) => x.id === id);
  return c ? `${c.staff_code} ${c.name}` : id.slice(0, 8);
}

const colourOf = (courierId) => {
  const i = state.couriers.findIndex((c) => c.id === courierId);
  return routeColours[(i < 0 ? 0 : i) % routeColours.length];
};

function riskBadge(risk) {
  return risk ? el('span', { class: `badge risk-${risk}` }, t(risk)) : '';
}

function renderLegend() {
  $('legend').setAttribute('aria-label', t('legend'));
  $('legend').replaceChildren(
    ...risks.map((r) => el('li', {}, el('span', { class: `dot risk-bg-${r}`, 'aria-hidden': 'true' }), t(r))),
    el('li', {}, el('span', { class: 'dot courier-dot', 'aria-hidden': 'true' }), t('legendCourier')),
    el('li', {}, el('span', { class: 'line-swatch', 'aria-hidden': 'true' }), t('legendRoute')),
    el('li', {}, el('span', { class: 'zone-swatch', 'aria-hidden': 'true' }), t('legendZone')),
  );
}

function updateButtons() {
  const editable = state.plan?.state === 'draft';
  $('plan').disabled = state.busy;
  $('publish').disabled = state.busy || !editable;
  $('replan').disabled = state.busy || !editable;
}

// render draws the day again. The keyboard stays where it was: on the same control of the
// same stop, or the nearest one still enabled (a stop moved to the top has no ↑).
function render() {
  const focused = document.activeElement;
  const row = focused?.closest?.('[data-task]');
  const kind = ['up', 'down', 'move', 'go', 'lock'].find((k) => focused?.classList?.contains(k));
  const plan = state.plan;
  const editable = plan?.state === 'draft';
  $('plan-state').textContent = plan ? t(plan.state) : t('none');
  state.stops = stopsOf();
  if (document.activeElement !== $('day')) $('day').value = dateText(state.day, lang);
  updateButtons();
  drawMap();
  renderRoutes(editable);
  renderUnplanned(editable);
  if (row && kind) {
    const again = [...document.querySelectorAll(`[data-task="${row.dataset.task}"]`)].find((r) => r.closest('[role=tabpanel]:not([hidden])'));
    const targets = again ? [again.querySelector(`.${kind}`), ...again.querySelectorAll('button, select')] : [];
    targets.find((x) => x && !x.disabled)?.focus();
  }
}

// stopsOf is every stop of the day by task: the open demand's, then the plan's own
// account of its stops, which holds them once they are assigned and out of the demand.
function stopsOf() {
  const all = new Map(state.demand);
  const placed = [...(state.plan?.routes ?? []).flatMap((r) => r.stops), ...(state.plan?.unplanned ?? [])];
  for (const s of placed) {
    const open = all.get(s.task_id) ?? {};
    all.set(s.task_id, { ...s, ...open, receipt_code: open.receipt_code || s.receipt_code, risk: open.risk || s.risk || 'on_track', location: open.location ?? s.location });
  }
  return all;
}

// fitRoutes shows the whole of the plan's routes and stops, once there is a plan.
function fitRoutes() {
  if (!state.layers) return;
  state.map.invalidateSize();
  const bounds = L.latLngBounds([]);
  for (const group of [state.layers.routes, state.layers.stops]) {
    group.eachLayer((l) => bounds.extend(l.getBounds ? l.getBounds() : l.getLatLng()));
  }
  if (bounds.isValid()) state.map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
}

// unfocusable keeps a map shape out of the Tab order: the side panel lists every stop and
// route, and a keyboard should not have to walk a hundred dots to reach it.
function unfocusable(layer) {
  layer.getElement()?.setAttribute('tabindex', '-1');
}

function drawMap() {
  if (!state.layers) return;
  const { stops, routes } = state.layers;
  stops.clearLayers();
  routes.clearLayers();
  const onRoute = new Map();
  for (const r of state.plan?.routes ?? []) {
    r.stops.forEach((s, i) => onRoute.set(s.task_id, { courier: r.courier_id, seq: i + 1, arrival: s.arrival, trip: s.trip }));
    // One line a trip, each from the office and back to it: the first solid, the later
    // ones dashed, so that a return to reload reads as such.
    tripLines(r).forEach((coordinates, k) => {
      const name = r.trips > 1 ? `${courierName(r.courier_id)} · ${t('trip', { n: k + 1 })}` : courierName(r.courier_id);
      const line = L.geoJSON({ type: 'LineString', coordinates }, { style: { color: colourOf(r.courier_id), weight: 4, opacity: 0.85,
        dashArray: k ? ['8 6', '2 6', '12 4 2 4', '4 4'][(k - 1) % 4] : null, className: `route-line trip-${k + 1}` } })
        .bindTooltip(tip(name)).addTo(routes);
      line.eachLayer(unfocusable);
    });
  }
  for (const s of state.stops.values()) {
    if (!s.location) continue;
    const placed = onRoute.get(s.task_id);
    // A stop done or failed since the day was read (the live stream says so) shows it.
    const outcome = state.outcomes.get(s.task_id);
    const label = [s.receipt_code, t(s.kind), t(s.risk), slotText(s.slot), outcome ? t('stop_' + outcome) : '',
      placed ? `${courierName(placed.courier)} #${placed.seq}${placed.trip > 1 ? ' ' + t('trip', { n: placed.trip }) : ''} ${t('eta')} ${clock(placed.arrival)}` : ''].filter(Boolean).join(' · ');
    const marker = L.circleMarker([s.location.lat, s.location.lon], {
      radius: placed ? 7 : 6, weight: placed ? 3 : 1.5, className: outcome ? `stop stop-${outcome}` : `stop risk-fill-${s.risk}`,
      color: placed ? colourOf(placed.courier) : '#333', fillOpacity: 0.9,
    }).bindTooltip(tip(label)).on('click', () => showDossier(s.receipt_code)).addTo(stops);
    unfocusable(marker);
  }
}

// drawProgress draws the search's best routes so far, dashed, in place of the plan's:
// the drawing improves as the search does.
function drawProgress(p) {
  if (!state.layers || !p.routes?.length) return;
  const { routes } = state.layers;
  routes.clearLayers();
  const at = (i) => [p.points[i][1], p.points[i][0]];
  for (const r of p.routes) {
    L.polyline([at(0), ...r.stops.map(at), at(0)], { color: colourOf(r.courier_id), weight: 3, opacity: 0.7, dashArray: '6 6', className: 'route-progress' })
      .addTo(routes).getElement()?.setAttribute('tabindex', '-1');
  }
}

// tripLines cuts a route's line into its trips: the line runs office, the first trip's
// stops, office, the next trip's stops, …, office.
function tripLines(r) {
  const all = r.line?.coordinates ?? [];
  if (!all.length) return [];
  const lines = [];
  let at = 0;
  for (let k = 1; k <= (r.trips || 1); k++) {
    const n = r.stops.filter((s) => (s.trip || 1) === k).length;
    lines.push(all.slice(at, at + n + 2));
    at += n + 1;
  }
  return lines;
}

function renderRoutes(editable) {
  const box = $('routes');
  const plan = state.plan;
  if (!plan) {
    $('plan-summary').textContent = `${state.demand.size} ${t('stops')} · ${t('none')}`;
    $('plan-travel').hidden = true;
    box.replaceChildren();
    return;
  }
  $('plan-summary').textContent = `${t(plan.state)} · ${plan.planned_stops} ${t('stops')} · ${(plan.distance_m / 1000).toFixed(1)} ${t('km')} · ${plan.unplanned.length} ${t('unplanned').toLowerCase()}`;
  // A plan on straight lines says so, and why: its times are rougher than the roads'.
  const why = { no_engine: 'travelNoEngine', too_many_points: 'travelTooMany' }[plan.travel_fallback] || 'travelUnavailable';
  $('plan-travel').hidden = plan.travel !== 'straight_line';
  $('plan-travel').textContent = plan.travel === 'straight_line' ? `${t('straightLine')} (${t(why)})` : '';
  box.replaceChildren(...plan.routes.map((r) => routeCard(r, editable)));
}

function routeCard(r, editable) {
  const name = courierName(r.courier_id);
  const issues = [];
  if (r.late_stops) issues.push(`${r.late_stops} ${t('late')}`);
  if (r.overload_items) issues.push(`${t('overload')} ${r.overload_items} ${t('items')}`);
  if (r.over_shift_minutes) issues.push(`${t('overShift')} ${r.over_shift_minutes} ${t('min')}`);
  const head = el('header', { class: 'route-head' },
    el('span', { class: 'swatch', 'aria-hidden': 'true', 'data-colour': colourOf(r.courier_id) }),
    el('h3', {}, name),
    el('span', { class: 'route-facts' }, `${r.stops.length} ${t('stops')}${r.trips > 1 ? ` · ${r.trips} ${t('trips')}` : ''} · ${(r.distance_m / 1000).toFixed(1)} ${t('km')} · ${t('depart')} ${clock(r.depart)} · ${t('back')} ${clock(r.return)}`),
    issues.length ? el('span', { class: 'badge warn' }, issues.join(', ')) : el('span', { class: 'badge ok' }, t('feasible')),
    editable ? el('label', { class: 'lock-label' }, el('input', {
      type: 'checkbox', class: 'lock', checked: r.locked, onchange: (e) => editRoute(r.courier_id, taskIds(r), e.target.checked, r.stops.map((s) => s.trip || 1)),
    }), t('locked')) : '',
  );
  // A route of several trips lists each under its name, the return to the office to
  // reload between them with its times.
  const rows = [];
  r.stops.forEach((s, i) => {
    const trip = s.trip || 1;
    if (r.trips > 1 && (i === 0 || trip !== (r.stops[i - 1].trip || 1))) {
      const reload = (r.reloads ?? []).find((x) => x.trip === trip);
      if (reload) {
        rows.push(el('li', { class: 'reload', 'data-trip': trip },
          el('span', { class: 'eta' }, `${clock(reload.arrival)}–${clock(reload.departure)}`),
          el('span', {}, t('reloadRow')), el('span', { class: 'load' }, `${reload.load_after} ${t('items')}`)));
      }
      rows.push(el('li', { class: 'trip-head', 'data-trip': trip }, el('strong', {}, t('trip', { n: trip }))));
    }
    rows.push(stopRow(r, s, i, editable));
  });
  const list = el('ol', { class: 'stops' }, ...rows);
  const card = el('section', { class: 'route', 'aria-label': name, 'data-courier': r.courier_id }, head, list);
  card.querySelector('.swatch').style.background = colourOf(r.courier_id);
  return card;
}

function stopRow(route, s, i, editable) {
  const d = state.stops.get(s.task_id) ?? s;
  const late = s.late_minutes > 0 ? el('span', { class: 'badge warn' }, `${t('late')} ${s.late_minutes} ${t('min')}`) : '';
  const row = el('li', { 'data-task': s.task_id },
    el('span', { class: 'eta' }, clock(s.arrival)),
    el('button', { type: 'button', class: 'link', onclick: () => showDossier(d.receipt_code) }, d.receipt_code || s.task_id.slice(0, 8)),
    el('span', {}, t(s.kind)),
    el('span', { class: 'slot' }, slotText(d.slot)),
    riskBadge(d.risk), late, s.pinned ? el('span', { class: 'badge pin' }, t('pinned')) : '',
  );
  if (editable) {
    row.append(el('span', { class: 'controls' },
      el('button', { type: 'button', class: 'up', 'aria-label': `${t('up')} ${d.receipt_code ?? ''}`, disabled: i === 0, onclick: () => reorder(route.courier_id, i, -1) }, '↑'),
      el('button', { type: 'button', class: 'down', 'aria-label': `${t('down')} ${d.receipt_code ?? ''}`, disabled: i === route.stops.length - 1, onclick: () => reorder(route.courier_id, i, 1) }, '↓'),
      courierSelect(route.courier_id, `${t('moveTo')} ${d.receipt_code ?? ''}`, (to) => moveStop(s.task_id, route.courier_id, to), true),
    ));
  }
  return row;
}

// courierSelect offers the office's other couriers (and, for a planned stop, taking it
// off the route). Nothing happens until its button is pressed: on some systems arrowing
// through a menu picks each option in turn.
function courierSelect(current, label, onPick, canUnassign) {
  const options = [el('option', { value: '-' }, t('choose'))];
  if (canUnassign) options.push(el('option', { value: '' }, t('unassign')));
  for (const c of officeCouriers()) {
    if (c.id !== current) options.push(el('option', { value: c.id }, courierName(c.id)));
  }
  const select = el('select', { 'aria-label': label, class: 'move' }, ...options);
  const go = el('button', { type: 'button', class: 'go', 'aria-label': `${t('move')}: ${label}`, onclick: () => select.value !== '-' && onPick(select.value) }, t('move'));
  return el('span', { class: 'mover' }, select, go);
}

function renderUnplanned(editable) {
  const rows = state.plan?.unplanned ?? [];
  $('unplanned-count').textContent = rows.length ? `(${rows.length})` : '';
  $('unplanned').tBodies[0].replaceChildren(...rows.map((u) => {
    const d = state.stops.get(u.task_id) ?? u;
    return el('tr', { 'data-task': u.task_id },
      el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => showDossier(d.receipt_code) }, d.receipt_code || u.task_id.slice(0, 8))),
      el('td', {}, t(u.kind)),
      el('td', {}, slotText(u.slot)),
      el('td', {}, el('span', { class: 'reason' }, t(u.reason)), u.detail ? el('small', {}, ' ', u.detail) : ''),
      el('td', {}, editable ? courierSelect('', `${t('assign')} ${d.receipt_code ?? ''}`, (to) => moveStop(u.task_id, '', to), false) : ''),
    );
  }));
}

// refreshCouriers reads where each courier's device last reported, with, once the plan is
// published, how far behind it they run; the live stream moves them on from there.
async function refreshCouriers() {
  if (!state.layers) return;
  const office = state.office.id;
  const [positions, live] = await Promise.all([
    call('GET', `/v1/dispatch/positions?post_office_id=${office}`),
    state.plan?.state === 'published' ? call('GET', `/v1/dispatch/live?post_office_id=${office}&date=${state.day}`) : null,
  ]);
  const behind = new Map((live?.routes ?? []).map((r) => [r.courier_id, r.behind_plan_minutes]));
  state.positions = new Map(positions.items.map((p) => [p.courier_id, { ...p, battery: p.battery_pct, behind: behind.get(p.courier_id) }]));
  drawCouriers();
}

// drawCouriers places each courier where their device last reported.
function drawCouriers() {
  state.layers.couriers.clearLayers();
  const now = Date.now();
  for (const [id, p] of state.positions) {
    // A point older than half an hour is shown as old: the device may be off or offline.
    const minutes = Math.round((now - new Date(p.at)) / 60000);
    const old = minutes > 30;
    const when = dateOf(p.at) === today() ? clock(p.at) : `${dateText(p.at, lang)} ${clock(p.at)}`;
    const facts = [courierName(id), t('position', { t: when }), t('ago', { m: minutes })];
    if (old) facts.push(t('stalePosition'));
    if (p.battery !== undefined && p.battery !== null) facts.push(t('battery', { p: p.battery }));
    if (p.behind !== undefined) facts.push(p.behind > 0 ? t('behind', { m: p.behind }) : t('ahead'));
    L.marker([p.lat, p.lon], {
      icon: L.divIcon({ className: old ? 'courier-icon old' : 'courier-icon', html: '', iconSize: [18, 18] }),
      title: facts.join(' · '), alt: facts.join(' · '), keyboard: true,
    }).bindTooltip(tip(facts.join(' · '))).addTo(state.layers.couriers);
  }
}

// --- live: the stream of what is committed, and the delay alerts -------------------------------

// follow keeps one live stream open for the dispatcher's offices. EventSource cannot send
// the access token, so the stream is read with fetch. Whenever it (re)connects, the lists
// are read again, since the stream is not a record: what happened while it was down is in
// them. It waits the server's retry between attempts.
let stream = null;
function follow() {
  if (stream) return;
  stream = new AbortController();
  const { signal } = stream;
  let retry = 3000;
  (async () => {
    for (let first = true; !signal.aborted; first = false) {
      // Between streams, the server's retry, as EventSource waits: the lists read on
      // reconnecting cover the gap.
      if (!first) await new Promise((resolve) => setTimeout(resolve, retry));
      try {
        // The lists first: a renewed token comes of it when the old one expired.
        if (!first) await Promise.all([refreshCouriers(), loadAlerts()]);
        const res = await fetch('/v1/live', { headers: { Authorization: 'Bearer ' + state.token, Accept: 'text/event-stream' }, signal });
        if (!res.ok || !res.body) throw new Error(`live ${res.status}`);
        showLive(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffered = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffered += value;
          let end;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            for (const line of block.split('\n')) {
              if (line.startsWith('retry: ')) retry = Number(line.slice(7)) || retry;
              if (line.startsWith('data: ')) onLive(JSON.parse(line.slice(6)));
            }
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ProblemError && err.status === 401) {
          fail(err); // the session ended: the login form, and no more stream
          return;
        }
      } finally {
        showLive(false);
      }
    }
  })();
}

// showLive tells the dispatcher whether the screen follows the field as it happens.
function showLive(open) {
  const mark = $('live-state');
  mark.dataset.state = open ? 'open' : 'closed';
  mark.dataset.t = open ? 'liveOpen' : 'liveClosed';
  mark.textContent = t(mark.dataset.t);
}

function stopFollowing() {
  stream?.abort();
  stream = null;
}

// onLive applies one event of the stream to the office shown.
function onLive(e) {
  if (!state.office || e.post_office_id !== state.office.id) return;
  const d = e.data;
  if (e.event === 'position') {
    const was = state.positions.get(d.courier_id) ?? {};
    if (was.at && new Date(was.at) >= new Date(d.at)) return;
    state.positions.set(d.courier_id, { ...was, ...d, battery: d.battery_pct ?? was.battery });
    drawCouriers();
  } else if (e.event === 'outcome') {
    state.outcomes.set(d.task_id, d.outcome);
    drawMap();
  } else if (e.event === 'quarantined') {
    say(t('quarantinedNow', { courier: courierName(d.courier_id) }));
  } else if (e.event === 'plan_progress') {
    planProgressSeen.set(d.plan_id, d);
    if (state.planFollowed?.id === d.plan_id) state.planFollowed.progress(d);
  } else if (e.event === 'delay_alert') {
    if (!state.alerts.some((a) => a.id === d.id)) state.alerts.unshift(d);
    renderAlerts();
  }
}

async function loadAlerts() {
  const office = state.office?.id;
  // The caller's offices' open alerts (paged, as every list): the office shown keeps its own.
  const alerts = [];
  let cursor = '';
  do {
    const page = await call('GET', `/v1/alerts?closed=false&limit=200${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
    alerts.push(...page.items);
    cursor = page.next_cursor ?? '';
  } while (cursor);
  state.alerts = alerts.filter((a) => a.post_office_id === office);
  renderAlerts();
}

// alertText says what an alert is about, in the console's words.
function alertText(a) {
  const who = courierName(a.courier_id);
  if (a.kind === 'courier_late') return t('alert_courier_late', { courier: who, m: a.late_minutes });
  return t('alert_stop_deadline', { courier: who, receipt: a.receipt_code ?? '', due: clock(a.due_at), m: a.late_minutes });
}

function renderAlerts() {
  $('alerts-count').textContent = state.alerts.length ? `(${state.alerts.length})` : '';
  const list = $('alerts');
  list.replaceChildren(...state.alerts.map((a) => {
    const note = el('input', { 'aria-label': t('alertNote'), placeholder: t('alertNote'), maxlength: '500', required: '' });
    const form = el('form', { class: 'inline' }, note, el('button', { type: 'submit' }, t('closeAlert')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      call('POST', `/v1/alerts/${a.id}/close`, { note: note.value })
        .then(() => { state.alerts = state.alerts.filter((x) => x.id !== a.id); renderAlerts(); })
        .catch(fail);
    });
    return el('li', { class: `alert alert-${a.kind}`, 'data-id': a.id },
      el('p', { class: 'alert-what' }, alertText(a)),
      el('p', { class: 'alert-action' }, t('action_' + a.action)),
      form);
  }));
  $('alerts-empty').hidden = state.alerts.length > 0;
}

// --- a dossier's custody and bag -------------------------------------------------------------

const partyName = (p) => {
  if (!p) return '';
  if (p.kind === 'courier') return `${t('courier')} ${courierName(p.id)}`;
  // An office's name already says it is one ("Bưu cục Phú Cường").
  if (p.kind === 'post_office') return state.offices.find((o) => o.id === p.id)?.name ?? t('post_office');
  return t(p.kind);
};

$('dossier-form').addEventListener('submit', (e) => {
  e.preventDefault();
  showDossier($('dossier-code').value.trim().toUpperCase());
});

async function showDossier(code) {
  if (!code) return;
  selectTab('tab-dossier');
  $('dossier-code').value = code;
  const box = $('dossier');
  clearError();
  try {
    const found = await call('GET', `/v1/dossiers?receipt_code=${encodeURIComponent(code)}`);
    const d = found.items[0];
    if (!d) {
      box.replaceChildren(el('p', {}, t('notFound')));
      return;
    }
    const [custody, chain] = await Promise.all([call('GET', `/v1/dossiers/${d.id}/custody`), call('GET', `/v1/dossiers/${d.id}/custody/verify`)]);
    const parts = [
      el('h3', {}, d.receipt_code),
      el('dl', { class: 'facts' },
        el('dt', {}, t('state')), el('dd', {}, t('st_' + d.state)),
        el('dt', {}, t('holder')), el('dd', { id: 'dossier-holder' }, partyName(d.holder)),
        el('dt', {}, t('chain')), el('dd', {}, chain.intact ? `${t('intact')} (${chain.entries})` : t('broken', { n: chain.first_broken })),
      ),
      el('h4', {}, t('custody')),
      el('table', { class: 'grid', id: 'custody' },
        el('thead', {}, el('tr', {}, ...['at', 'event', 'from', 'to'].map((k) => el('th', { scope: 'col' }, t(k))))),
        el('tbody', {}, ...custody.items.map((c) => el('tr', {},
          el('td', {}, `${dateText(c.server_time, lang)} ${clock(c.server_time)}`),
          el('td', { 'data-event': c.event }, t('ev_' + c.event)), el('td', {}, partyName(c.from)), el('td', {}, partyName(c.to))))),
      ),
    ];
    if (d.holder?.kind === 'courier') {
      const bag = await call('GET', `/v1/couriers/${d.holder.id}/bag?limit=100`);
      parts.push(el('h4', {}, `${t('bag')}: ${courierName(d.holder.id)} (${bag.total})`),
        bag.items.length ? el('ul', { id: 'bag', class: 'bag' }, ...bag.items.map((b) => el('li', {}, `${b.receipt_code} · ${t('st_' + b.state)}`))) : el('p', {}, t('empty')));
    }
    box.replaceChildren(...parts);
  } catch (err) {
    fail(err);
  }
}

// --- cash: a courier's day at the counter, and its hand-in --------------------------------

const money = (v) => v.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB');
let cashDay = null;

// fillCashCouriers lists the office's couriers as the office is chosen, however the cash
// tab is later reached; another office's courier's day is no longer shown.
function fillCashCouriers() {
  const select = $('cash-courier');
  const current = select.value;
  const couriers = officeCouriers();
  select.replaceChildren(...couriers.map((c) => new Option(c.name, c.id)));
  if (couriers.some((c) => c.id === current)) {
    select.value = current;
    return;
  }
  cashDay = null;
  $('cash-summary').textContent = '';
  $('cash-hand-ins').replaceChildren();
  $('hand-in-form').hidden = true;
}

async function loadCash() {
  clearError();
  cashDay = await call('GET', `/v1/couriers/${$('cash-courier').value}/cash?date=${state.day}`);
  $('cash-summary').textContent = t('cashDay', { d: dateText(cashDay.date, lang), due: money(cashDay.to_hand_in_vnd),
    in: money(cashDay.handed_in_vnd), left: money(cashDay.still_to_hand_in_vnd) });
  $('cash-hand-ins').replaceChildren(...cashDay.hand_ins.map((h) => {
    const facts = [t('handInLine', { t: clock(h.handed_in_at), counted: money(h.counted_vnd), due: money(h.to_hand_in_vnd) })];
    if (h.short_vnd) facts.push(t('handInShort', { v: money(h.short_vnd) }));
    if (h.over_vnd) facts.push(t('handInOver', { v: money(h.over_vnd) }));
    const item = document.createElement('li');
    item.textContent = facts.join(' · ');
    return item;
  }));
  $('hand-in-form').hidden = cashDay.still_to_hand_in_vnd === 0;
  $('cash-counted').value = '';
}

$('cash-form').addEventListener('submit', (e) => {
  e.preventDefault();
  loadCash().catch(fail);
});
$('hand-in-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearError();
  // The figure shown goes with the count: a line synced meanwhile makes the server refuse.
  call('POST', `/v1/couriers/${cashDay.courier_id}/cash/hand-ins`, { date: cashDay.date,
    counted_vnd: Number($('cash-counted').value), to_hand_in_vnd: cashDay.still_to_hand_in_vnd })
    .then(() => { say(t('handInRecorded')); return loadCash(); }).catch(fail);
});

// --- tabs: arrow keys move between them, as the ARIA pattern has it ---------------------------

const tabs = () => [...document.querySelectorAll('[role="tab"]')];

function selectTab(id) {
  for (const tab of tabs()) {
    const on = tab.id === id;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute('aria-controls')).hidden = !on;
  }
}

for (const tab of tabs()) {
  tab.addEventListener('click', () => selectTab(tab.id));
  tab.addEventListener('keydown', (e) => {
    const all = tabs();
    const i = all.indexOf(tab);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: all.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const target = all[(next + all.length) % all.length];
    selectTab(target.id);
    target.focus();
  });
}

translatePage();
if (state.token) start().catch(fail);
else showLogin();
