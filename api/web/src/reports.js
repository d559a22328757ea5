// The console's reports: the post's figures over a period, each drawn as a chart with the
// same figures in a table under it (what a screen reader and the tests read), exported as
// the server's own CSV. Loaded only when the dispatcher opens the reports.
import { Chart, BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip } from 'chart.js';
import { dateText, dayAfter, el, parseDate, today, ProblemError } from './common.js';

// Only the pieces the charts use, so that the rest of the library stays out of the bundle.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

// Series colours, told apart in the legend and the table as well as by hue.
const colours = ['#1f57c3', '#b3261e', '#1e6b34', '#a34700', '#6a3fb5', '#00756f', '#7c5a00'];

const sum = (rows, pick) => rows.reduce((n, r) => n + (pick(r) ?? 0), 0);
// byDay is the cash rows by day, in the answer's order (by office, then day): days sorted.
const byDay = (items) => {
  const days = new Map();
  for (const r of [...items].sort((a, b) => a.date.localeCompare(b.date))) days.set(r.date, [...(days.get(r.date) ?? []), r]);
  return days;
};
const reasons = ['not_at_home', 'refused', 'wrong_address', 'identity_not_proven', 'other'];
const legs = ['pickup', 'agency', 'delivery'];

// The reports the page shows, each a route of /v1/reports and the views drawn from its
// answer. A view is a table of rows (a label, then one figure per column) and, unless it
// is a list, a bar chart of the same rows; a column's stack piles it on the others of that
// stack. Another report is one more entry here, with its words in console-words.json.
export const reports = [
  {
    id: 'flow', path: '/v1/reports/flow', grouped: true,
    views: [
      {
        id: 'flow-volume', title: 'rpFlowVolume', head: (x) => x.groupWord,
        columns: [
          { word: 'rpPickedUp', stack: 'in' }, { word: 'rpHandedToAgency', stack: 'agency' },
          { word: 'rpDeliveredByPost', stack: 'out' }, { word: 'rpCollectedAtCounter', stack: 'out' }, { word: 'rpCollectedAtAgency', stack: 'out' },
        ],
        rows: (items, x) => items.map((r) => ({
          key: r.key, label: x.groupName(r.key),
          values: [r.picked_up, r.handed_to_agency, r.delivered_by_post, r.collected_at_counter, r.collected_at_agency],
        })),
      },
      {
        id: 'flow-legs', title: 'rpLegs', head: () => 'rpLeg',
        columns: [{ word: 'rpOnTime', stack: 'leg' }, { word: 'rpLate', stack: 'leg' }],
        rows: (items, x) => legs.map((leg) => ({
          key: leg, label: x.t('leg_' + leg),
          values: [sum(items, (r) => r[leg + '_leg'].on_time), sum(items, (r) => r[leg + '_leg'].late)],
        })),
      },
      {
        id: 'flow-failed', title: 'rpFailed', head: () => 'reason',
        columns: [{ word: 'rpAttempts' }],
        rows: (items, x) => reasons.map((reason) => ({
          key: reason, label: x.t('fail_' + reason),
          values: [sum(items, (r) => r.failed_by_reason.find((f) => f.reason === reason)?.count)],
        })).filter((row) => row.values[0] > 0),
      },
      {
        id: 'flow-share', title: 'rpPostShare', head: (x) => x.groupWord,
        columns: [{ word: 'rpPostShareColumn', format: 'percent' }],
        rows: (items, x) => items.filter((r) => r.post_share !== null).map((r) => ({ key: r.key, label: x.groupName(r.key), values: [r.post_share] })),
      },
    ],
  },
  {
    id: 'late', path: '/v1/reports/late',
    views: [
      {
        id: 'late-list', title: 'rpLateList', head: () => 'receipt-code', list: true,
        columns: [{ word: 'rpLeg', format: 'text' }, { word: 'rpDue', format: 'date' }, { word: 'rpEnded', format: 'date' },
          { word: 'rpReasons', format: 'text' }, { word: 'office', format: 'text' }],
        rows: (items, x) => items.map((l) => ({
          key: l.dossier_id + ':' + l.leg, label: l.receipt_code,
          values: [x.t('leg_' + l.leg), l.due, l.ended, l.reasons.map((r) => x.t('fail_' + r)).join(', ') || '—', x.officeName(l.post_office_id)],
        })),
      },
    ],
  },
  {
    id: 'couriers', path: '/v1/reports/couriers',
    views: [
      {
        id: 'couriers-stops', title: 'rpCourierStops', head: () => 'rpCourier',
        columns: [{ word: 'rpStopsDone', stack: 'stops' }, { word: 'rpStopsFailed', stack: 'stops' }],
        rows: (items, x) => items.map((r) => ({ key: r.courier_id, label: x.courierName(r.courier_id), values: [r.stops_done, r.stops_failed] })),
      },
      {
        id: 'couriers-distance', title: 'rpCourierDistance', head: () => 'rpCourier',
        columns: [{ word: 'rpPlannedKm', format: 'km' }, { word: 'rpTravelledKm', format: 'km' }],
        rows: (items, x) => items.map((r) => ({ key: r.courier_id, label: x.courierName(r.courier_id), values: [r.planned_m / 1000, r.travelled_m / 1000] })),
      },
    ],
  },
  {
    id: 'cash', path: '/v1/reports/cash',
    views: [
      {
        id: 'cash-days', title: 'rpCash', head: () => 'day',
        columns: [{ word: 'rpCashVnd', format: 'vnd', stack: 'door' }, { word: 'rpTransferVnd', format: 'vnd', stack: 'door' }, { word: 'rpBankVnd', format: 'vnd', stack: 'bank' }],
        // Per day, the offices shown added up.
        rows: (items, x) => [...byDay(items)].map(([day, rows]) => ({
          key: day, label: dateText(day, x.lang),
          values: [sum(rows, (r) => r.cash_vnd), sum(rows, (r) => r.transfer_vnd), sum(rows, (r) => r.bank_vnd)],
        })),
      },
    ],
  },
];

const groupings = ['post_office', 'agency', 'procedure', 'courier'];
const presets = ['this_month', 'last_month', 'last_30_days', 'this_year', 'custom'];

// period is a preset's first and last day (both shown), as of today in Vietnam.
function period(preset, now = today()) {
  const [y, m] = now.split('-').map(Number);
  const month = (year, mon) => new Date(Date.UTC(year, mon - 1, 1)).toISOString().slice(0, 10);
  switch (preset) {
    case 'last_month': return [month(y, m - 1), dayAfter(month(y, m), -1)];
    case 'last_30_days': return [dayAfter(now, -29), now];
    case 'this_year': return [`${y}-01-01`, `${y}-12-31`];
    default: return [month(y, m), dayAfter(month(y, m + 1), -1)];
  }
}

// openReports builds the reports into their box once; ctx is the console's: its words,
// its calls with the session, its offices and couriers, its error line.
export function openReports(ctx) {
  const $ = (id) => document.getElementById(id);
  const box = $('reports');
  const state = { preset: 'this_month', first: null, last: null, by: 'post_office', office: '', answers: new Map(), charts: [], names: new Map() };
  [state.first, state.last] = period(state.preset);

  const number = (format, v) => {
    const lang = ctx.lang() === 'vi' ? 'vi-VN' : 'en-US';
    switch (format) {
      case 'text': return v;
      case 'date': return dateText(v, ctx.lang());
      case 'percent': return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(v);
      case 'km': return new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(v);
      default: return new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }).format(v);
    }
  };
  const helpers = () => ({
    t: ctx.t, lang: ctx.lang(),
    groupWord: 'rpBy_' + state.by,
    groupName: (key) => state.names.get(key) ?? key.slice(0, 8),
    officeName: (id) => state.names.get(id) ?? id.slice(0, 8),
    courierName: (id) => state.names.get(id) ?? id.slice(0, 8),
  });

  // --- the filters -----------------------------------------------------------------------
  const presetSelect = el('select', { id: 'rp-preset' });
  const from = el('input', { id: 'rp-from', inputmode: 'numeric', autocomplete: 'off', size: 11, required: true });
  const to = el('input', { id: 'rp-to', inputmode: 'numeric', autocomplete: 'off', size: 11, required: true });
  const bySelect = el('select', { id: 'rp-by' });
  const officeSelect = el('select', { id: 'rp-office' });
  const wordOf = (node, key) => { node.dataset.t = key; return node; };
  const form = el('form', { id: 'rp-filters', class: 'rp-filters' },
    el('label', {}, wordOf(el('span'), 'rpPeriod'), ' ', presetSelect),
    el('label', {}, wordOf(el('span'), 'from'), ' ', from),
    el('label', {}, wordOf(el('span'), 'rpThrough'), ' ', to),
    el('label', {}, wordOf(el('span'), 'rpGroupBy'), ' ', bySelect),
    el('label', { hidden: ctx.offices.length < 2 }, wordOf(el('span'), 'office'), ' ', officeSelect),
    wordOf(el('button', { type: 'submit', class: 'primary' }), 'rpShow'));
  const sections = new Map(reports.map((r) => [r.id, el('section', { class: 'rp-report', 'data-report': r.id, 'aria-labelledby': 'rp-title-' + r.id })]));
  box.replaceChildren(wordOf(el('h2', { class: 'rp-heading' }), 'reports'), form, el('p', { id: 'rp-period', class: 'summary' }), ...sections.values());

  function fillFilters() {
    presetSelect.replaceChildren(...presets.map((p) => el('option', { value: p }, ctx.t('rpPreset_' + p))));
    presetSelect.value = state.preset;
    bySelect.replaceChildren(...groupings.map((g) => el('option', { value: g }, ctx.t('rpBy_' + g))));
    bySelect.value = state.by;
    officeSelect.replaceChildren(el('option', { value: '' }, ctx.t('rpAllOffices')),
      ...ctx.offices.map((o) => el('option', { value: o.id }, `${o.code} · ${o.name}`)));
    officeSelect.value = state.office;
    from.value = dateText(state.first, ctx.lang());
    to.value = dateText(state.last, ctx.lang());
    for (const node of box.querySelectorAll('[data-t]')) node.textContent = ctx.t(node.dataset.t);
  }

  presetSelect.addEventListener('change', () => {
    state.preset = presetSelect.value;
    if (state.preset !== 'custom') {
      [state.first, state.last] = period(state.preset);
      fillFilters();
      loadAll();
    }
  });
  for (const input of [from, to]) input.addEventListener('input', () => { state.preset = 'custom'; presetSelect.value = 'custom'; });
  bySelect.addEventListener('change', () => { state.by = bySelect.value; load(reports.find((r) => r.grouped)); });
  officeSelect.addEventListener('change', () => { state.office = officeSelect.value; loadAll(); });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const first = parseDate(from.value), last = parseDate(to.value);
    if (!first || !last) {
      ctx.fail(new Error(ctx.t('badDay')));
      return;
    }
    [state.first, state.last] = [first, last];
    fillFilters();
    loadAll();
  });

  // --- the answers -----------------------------------------------------------------------

  // query is a report's request: the period with its last day included (the API's to is
  // the day after), the grouping where it has one, the office when one is chosen.
  const query = (r) => '?' + new URLSearchParams({
    from: state.first, to: dayAfter(state.last, 1),
    ...(r.grouped ? { by: state.by } : {}), ...(state.office ? { post_office_id: state.office } : {}),
  });

  // Names of what rows are keyed by: offices, couriers, agencies and procedures.
  async function loadNames() {
    const [agencies, procedures] = await Promise.all([ctx.call('GET', '/v1/agencies?limit=500'), ctx.call('GET', '/v1/procedures?limit=500')]);
    for (const o of ctx.offices) state.names.set(o.id, `${o.code} · ${o.name}`);
    for (const c of ctx.couriers) state.names.set(c.id, `${c.staff_code} ${c.name}`);
    for (const a of [...agencies.items, ...procedures.items]) state.names.set(a.id, a.code ? `${a.code} · ${a.name}` : a.name);
  }

  // load asks for one report again; an answer to an older request is dropped.
  async function load(r) {
    const section = sections.get(r.id);
    const asked = query(r);
    section.dataset.query = asked;
    section.setAttribute('aria-busy', 'true');
    try {
      const answer = await ctx.call('GET', r.path + asked);
      if (section.dataset.query !== asked) return;
      state.answers.set(r.id, answer);
      draw(r);
    } catch (err) {
      if (section.dataset.query !== asked) return;
      state.answers.delete(r.id);
      draw(r);
      refused(err);
    } finally {
      section.removeAttribute('aria-busy');
    }
  }

  function loadAll() {
    ctx.clearError();
    $('rp-period').textContent = ctx.t('rpPeriodShown', { a: dateText(state.first, ctx.lang()), b: dateText(state.last, ctx.lang()) });
    return Promise.all(reports.map(load));
  }

  // A period the server refuses (backwards, too long) is said in the console's words.
  function refused(err) {
    if (err instanceof ProblemError && err.status === 422 && err.fields.some((f) => f.field === 'from' || f.field === 'to')) ctx.fail(new Error(ctx.t('rpBadPeriod')));
    else ctx.fail(err);
  }

  // --- drawing ---------------------------------------------------------------------------

  function draw(r) {
    for (const c of state.charts.filter((c) => c.report === r.id)) c.chart.destroy();
    state.charts = state.charts.filter((c) => c.report !== r.id);
    const section = sections.get(r.id);
    const answer = state.answers.get(r.id);
    const exportButton = el('button', { type: 'button', class: 'rp-export', onclick: () => download(r, exportButton) }, ctx.t('rpExport'));
    const head = el('div', { class: 'rp-head' }, el('h3', { id: 'rp-title-' + r.id }, ctx.t('rpReport_' + r.id)), exportButton);
    if (!answer) {
      section.replaceChildren(head);
      return;
    }
    if (answer.items.length === 0) {
      section.replaceChildren(head, el('p', { class: 'rp-empty' }, ctx.t('rpEmpty')));
      return;
    }
    section.replaceChildren(head, ...r.views.map((v) => view(r, v, answer.items)));
  }

  function view(r, v, items) {
    const x = helpers();
    const rows = v.rows(items, x);
    const title = ctx.t(v.title);
    const figure = el('figure', { class: 'rp-view', 'data-view': v.id }, el('figcaption', {}, title));
    if (rows.length === 0) {
      figure.append(el('p', { class: 'rp-empty' }, ctx.t('rpEmpty')));
      return figure;
    }
    if (!v.list) {
      const canvas = el('canvas', { role: 'img', 'aria-label': title + ' — ' + ctx.t('rpSeeTable') });
      figure.append(el('div', { class: 'rp-chart' }, canvas));
      state.charts.push({ report: r.id, chart: chart(canvas, v, rows) });
    }
    const table = el('table', { class: 'grid rp-table' },
      el('caption', { class: 'visually-hidden' }, title),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, ctx.t(v.head(x))), ...v.columns.map((c) => el('th', { scope: 'col', class: c.format === 'text' || c.format === 'date' ? '' : 'num' }, ctx.t(c.word))))),
      el('tbody', {}, ...rows.map((row) => el('tr', { 'data-key': row.key }, el('th', { scope: 'row' }, row.label),
        ...row.values.map((value, i) => el('td', { class: ['text', 'date'].includes(v.columns[i].format) ? '' : 'num' }, number(v.columns[i].format, value)))))));
    figure.append(el('div', { class: 'rp-table-box' }, table));
    return figure;
  }

  function chart(canvas, v, rows) {
    const format = v.columns[0].format;
    return new Chart(canvas, {
      type: 'bar',
      data: {
        labels: rows.map((row) => row.label),
        datasets: v.columns.map((c, i) => ({
          label: ctx.t(c.word), data: rows.map((row) => row.values[i]), stack: c.stack ?? c.word,
          backgroundColor: colours[i % colours.length],
        })),
      },
      options: {
        // Drawn at once: a chart that animates is not yet what it says.
        animation: false, maintainAspectRatio: false, locale: ctx.lang() === 'vi' ? 'vi-VN' : 'en-US',
        scales: {
          x: { stacked: true },
          // Ticks in the chart's locale (1.000 or 1,000); a share as a percentage.
          y: { stacked: true, beginAtZero: true, ...(format === 'percent' ? { ticks: { callback: (value) => number(format, value) } } : {}) },
        },
        plugins: {
          legend: { position: 'bottom', display: v.columns.length > 1 },
          tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${number(v.columns[item.datasetIndex].format, item.raw)}` } },
        },
      },
    });
  }

  // download saves the report as the server writes it in CSV, under the server's name.
  async function download(r, button) {
    ctx.clearError();
    button.disabled = true;
    try {
      const { blob, name } = await ctx.download(r.path + query(r), 'text/csv');
      const link = el('a', { href: URL.createObjectURL(blob), download: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      button.dataset.saved = name;
    } catch (err) {
      refused(err);
    } finally {
      button.disabled = false;
    }
  }

  fillFilters();
  let named = null;
  return {
    // show (re)loads the figures, the names of what they are about first.
    async show() {
      named ??= loadNames();
      await named;
      await loadAll();
    },
    // translate writes every word again in the console's language, from the answers held.
    translate() {
      fillFilters();
      $('rp-period').textContent = ctx.t('rpPeriodShown', { a: dateText(state.first, ctx.lang()), b: dateText(state.last, ctx.lang()) });
      for (const r of reports) draw(r);
    },
  };
}
