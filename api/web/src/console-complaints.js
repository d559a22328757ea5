// The office's complaints: citizens' complaints about its dossiers, newest first, the ones
// past their answer deadline marked; each open one takes an answer, each answered one can
// be closed. Kept apart from the rest of the console, which hands it what it needs.
import { clock, dateText, el } from './common.js';

// complaintsPanel draws into #complaints for the office console.js shows: office() is it,
// t the console's words, lang() its language, call the API as the dispatcher, fail how
// a refusal is shown.
export function complaintsPanel({ call, t, lang, office, fail, say }) {
  const box = document.getElementById('complaints');
  const count = document.getElementById('complaints-count');
  const filter = { state: 'open', overdue: false };
  let items = [];
  let view = 0;
  const when = (iso) => `${dateText(iso, lang())} ${clock(iso)}`;
  // The deadline's last day: the day before the instant an answer is late from.
  const lastDay = (iso) => dateText(new Date(Date.parse(iso) - 1).toISOString(), lang());

  async function load() {
    const o = office();
    if (!o) return;
    const mine = ++view;
    const q = new URLSearchParams({ post_office_id: o.id, limit: '100' });
    if (filter.state) q.set('state', filter.state);
    if (filter.overdue) q.set('overdue', 'true');
    try {
      const [list, overdue] = await Promise.all([call('GET', `/v1/complaints?${q}`),
        call('GET', `/v1/complaints?post_office_id=${o.id}&overdue=true&limit=1`)]);
      if (mine !== view) return;
      items = list.items;
      count.textContent = overdue.total ? `(${overdue.total})` : '';
      render();
    } catch (err) {
      fail(err);
    }
  }

  async function act(c, path, body, done) {
    try {
      await call('POST', `/v1/complaints/${c.id}/${path}`, body);
      say(t(done, { code: c.receipt_code }));
      await load();
    } catch (err) {
      fail(err);
      await load();
    }
  }

  function card(c) {
    const parts = [
      el('h4', {}, `${c.receipt_code} · ${t('cat_' + c.category)}`),
      el('p', { class: 'complaint-meta' }, el('span', { class: 'complaint-state' }, t('cstate_' + c.state)),
        c.overdue && el('strong', { class: 'badge warn' }, t('complaintOverdue')),
        ` · ${t('complaintFiled', { at: when(c.filed_at) })} · ${t('complaintDue', { day: lastDay(c.due_at) })}`),
      el('p', { class: 'complaint-text' }, c.text),
    ];
    if (c.answer) parts.push(el('p', { class: 'complaint-answer' }, el('strong', {}, `${t('complaintAnswer')}: `), c.answer));
    if (c.state === 'open') {
      const area = el('textarea', { id: `answer-${c.id}`, rows: 3, maxlength: 4000, required: true });
      parts.push(el('form', {
        class: 'complaint-form',
        onsubmit: (e) => {
          e.preventDefault();
          if (!area.value.trim()) return area.reportValidity();
          e.submitter.disabled = true;
          act(c, 'answer', { answer: area.value }, 'complaintAnswered');
        },
      }, el('label', { for: area.id }, t('complaintAnswer')), area, el('button', { type: 'submit', class: 'primary' }, t('answerComplaint'))));
    } else if (c.state === 'answered') {
      parts.push(el('button', { type: 'button', onclick: (e) => { e.target.disabled = true; act(c, 'close', undefined, 'complaintClosed'); } }, t('closeComplaint')));
    }
    return el('li', { 'data-state': c.state, 'data-overdue': c.overdue ? 'true' : undefined }, ...parts);
  }

  function render() {
    const states = el('select', { id: 'complaint-state', onchange: (e) => { filter.state = e.target.value; load(); } },
      ...['open', 'answered', 'closed', ''].map((s) => el('option', { value: s, selected: s === filter.state }, t(s ? 'cstate_' + s : 'allStates'))));
    const overdue = el('input', { type: 'checkbox', id: 'complaint-overdue', checked: filter.overdue,
      onchange: (e) => { filter.overdue = e.target.checked; load(); } });
    box.replaceChildren(
      el('div', { class: 'inline' }, el('label', { for: 'complaint-state' }, t('complaintState')), states,
        el('label', {}, overdue, ` ${t('overdueOnly')}`)),
      items.length ? el('ul', { id: 'complaint-list', class: 'complaints' }, ...items.map(card)) : el('p', {}, t('noComplaints')));
  }

  return { load, render };
}
