// The protocol advisor: the questions of the decision table (/console/advisor.json, the same file `switchboard advise`
// uses), answered by the hub (/console/advise) so the page and the command always agree; and the guide's Real-time Options
// Comparison with the figures measured on this hub when bench results are present.

import { api, clearProblems, showProblem, announce } from './api.js';
import { h, table, fill } from './dom.js';

export async function render(main) {
  const decisions = await api('GET', '/console/advisor.json');
  const form = h('form', { class: 'stack', id: 'advisor-form' });
  for (const question of decisions.questions) {
    const set = h('fieldset', {}, h('legend', {}, question.text));
    for (const option of question.options) {
      set.append(h('label', { class: 'check' },
        h('input', { type: 'radio', name: question.id, value: option.value, checked: option.value === question.default }),
        option.label));
    }
    form.append(set);
  }
  form.append(h('div', {}, h('button', { type: 'submit', id: 'advise' }, 'Recommend')));
  const answer = h('section', { class: 'panel', id: 'advice', 'aria-live': 'polite', 'aria-labelledby': 'advice-title' }, h('h2', { id: 'advice-title' }, 'Recommendation'));
  const comparison = h('section', { class: 'panel', 'aria-labelledby': 'comparison-title' }, h('h2', { id: 'comparison-title' }, 'Real-time options compared'));
  main.append(h('h1', {}, 'Protocol advisor'),
    h('p', { class: 'muted' }, 'A few questions lead to the protocol the guide recommends, with its reasons. The command line gives the same answer: switchboard advise --client … --direction …'),
    h('div', { class: 'split' }, h('section', { class: 'panel', 'aria-label': 'Questions' }, form), answer),
    comparison);

  const advise = async () => {
    clearProblems(answer);
    const query = new URLSearchParams(new FormData(form));
    try {
      const advice = await api('GET', `/console/advise?${query}`);
      fill(answer, answer.firstChild,
        h('p', { class: 'recommendation', id: 'advice-protocol', dataset: { protocol: advice.protocol } }, advice.name),
        h('p', {}, h('strong', {}, 'On this hub: '), advice.use),
        h('h3', {}, 'Why'),
        h('ul', { id: 'advice-reasons' }, advice.reasons.map((r) => h('li', {}, r))),
        advice.alternatives.length ? h('p', {}, h('strong', {}, 'Also possible: '), advice.alternatives.map((a) => a.name).join(', ')) : null,
        h('p', { class: 'muted' }, 'Same answer on the command line: ', h('code', { id: 'advice-command' },
          `switchboard advise ${Object.entries(advice.answers).map(([q, v]) => `--${q} ${v}`).join(' ')}`)));
      announce(`Recommended: ${advice.name}.`);
    } catch (error) {
      showProblem(answer, error);
    }
  };
  form.addEventListener('submit', (event) => { event.preventDefault(); advise(); });
  form.addEventListener('change', advise);
  await advise();

  try {
    const data = await api('GET', '/console/comparison.json');
    const measured = Object.fromEntries(data.measured.map((m) => [m.protocol, m]));
    const cell = (m, key, unit, digits = 1) => (m?.[key] === null || m?.[key] === undefined ? '–' : `${formatNumber(m[key], digits)}${unit}`);
    comparison.append(
      data.measured.length
        ? h('p', { class: 'muted' }, 'Guide columns as the guide gives them; measured columns from ', [...new Set(data.measured.map((m) => m.source))].join('; '), ' (medians, 100 subscribers; latency at 1,000 msg/s; polling every 100 ms).')
        : h('p', { class: 'muted' }, 'No bench results found on this hub (bench/results-*/results.json); run switchboard\'s bench to fill the measured columns.'),
      table([
        { title: 'Technique', value: (r) => r.technique },
        { title: 'Latency (guide)', value: (r) => r.latency },
        { title: 'p50 / p99 measured', num: true, value: (r) => `${cell(measured[r.protocol], 'latencyP50Ms', ' ms')} / ${cell(measured[r.protocol], 'latencyP99Ms', ' ms')}` },
        { title: 'Server load (guide)', value: (r) => r.serverLoad },
        { title: 'CPU s per M delivered', num: true, value: (r) => cell(measured[r.protocol], 'cpuSecondsPerMillion', '', 2) },
        { title: 'Delivered/s', num: true, value: (r) => cell(measured[r.protocol], 'deliveredPerSecond', '', 0) },
        { title: 'Browser support', value: (r) => r.browserSupport },
        { title: 'Complexity', value: (r) => r.complexity },
      ], data.rows, { caption: 'Real-time options compared' }));
    comparison.querySelector('table')?.setAttribute('id', 'comparison');
  } catch (error) {
    showProblem(comparison, error);
  }
}

function formatNumber(value, digits) {
  return Number(value).toLocaleString('en', { maximumFractionDigits: digits });
}
