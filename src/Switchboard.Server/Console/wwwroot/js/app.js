// The console's shell: sign-in, the section router (#/section/argument), and the session bar. Each section is a module
// whose render(main, argument) draws it and returns a function that stops whatever it started (streams, clients).

import { api, credential, HubError, showProblem, signIn, signOut, announce } from './api.js';
import { h, field } from './dom.js';

const sections = {
  dashboard: { title: 'Dashboard', load: () => import('./dashboard.js') },
  topics: { title: 'Topics', load: () => import('./topics.js') },
  queues: { title: 'Queues', load: () => import('./queues.js') },
  connections: { title: 'Connections and nodes', load: () => import('./connections.js') },
  chat: { title: 'Chat', load: () => import('./chat.js') },
  advisor: { title: 'Protocol advisor', load: () => import('./advisor.js') },
};

// Sections that need no credential (they read nothing from /v1).
const open = new Set(['advisor']);

let stop = () => {};
let navigation = 0; // each route() takes a number; one that was overtaken by a newer navigation draws nothing
let access = 'unknown'; // 'open' (no credentials configured), 'signed-in', 'needed'

async function checkAccess() {
  try {
    await api('GET', '/v1/topics?limit=1');
    access = credential() ? 'signed-in' : 'open';
  } catch (error) {
    if (error instanceof HubError && error.status === 401) access = 'needed';
    else if (error instanceof HubError && error.status === 403) access = 'signed-in'; // a credential with narrower scopes
    else throw error;
  }
}

function renderSession() {
  const bar = document.getElementById('session');
  const c = credential();
  if (access === 'open') {
    bar.replaceChildren(h('span', { title: 'This hub has no credentials configured: it listens on loopback only.' }, 'Open hub'));
  } else if (c) {
    bar.replaceChildren(
      h('span', {}, c.kind === 'apiKey' ? 'Signed in with an API key' : 'Signed in with a token'),
      h('button', { type: 'button', onclick: () => { signOut(); access = 'needed'; route(); } }, 'Sign out'));
  } else {
    bar.replaceChildren(h('span', {}, 'Not signed in'));
  }
}

function renderSignIn(main, reason) {
  const value = h('input', { type: 'password', id: 'credential', name: 'credential', autocomplete: 'off', required: true, spellcheck: 'false' });
  const kindKey = h('input', { type: 'radio', name: 'kind', value: 'apiKey', checked: true });
  const kindToken = h('input', { type: 'radio', name: 'kind', value: 'token' });
  const form = h('form', { class: 'stack', 'aria-labelledby': 'signin-title' },
    h('fieldset', {}, h('legend', {}, 'Credential'),
      h('label', { class: 'check' }, kindKey, 'API key'),
      h('label', { class: 'check' }, kindToken, 'Token (JWT)')),
    field('Key or token', value, 'Kept in this tab only (session storage); sent as a header, or as access_token on event streams.'),
    h('div', {}, h('button', { type: 'submit' }, 'Sign in')));
  const panel = h('section', { class: 'panel narrow' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', {}, 'This hub requires a credential. Use an API key with the admin scope to see everything (docs/security.md).'),
    form);
  if (reason) showProblem(panel, reason);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    signIn(kindToken.checked ? 'token' : 'apiKey', value.value.trim());
    try {
      await checkAccess();
    } catch (error) {
      showProblem(panel, error);
      return;
    }
    if (access === 'needed') {
      const refused = new HubError(401, { title: 'The hub refused this credential.', detail: 'Check the key or token: it is unknown, expired or malformed.' });
      signOut();
      renderSignIn(main, refused);
      return;
    }
    announce('Signed in.');
    route();
  });
  main.replaceChildren(panel);
  value.focus();
}

async function route() {
  stop();
  stop = () => {};
  const mine = ++navigation;
  const main = document.getElementById('main');
  const [, name = 'dashboard', ...rest] = location.hash.replace(/^#/, '').split('/');
  const section = sections[name] ?? sections.dashboard;
  const key = sections[name] ? name : 'dashboard';
  for (const link of document.querySelectorAll('header nav a')) {
    if (link.dataset.section === key) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${section.title} · Switchboard console`;
  if (access === 'unknown') {
    try {
      await checkAccess();
    } catch (error) {
      if (mine === navigation) showProblem(main, error, { replace: true });
      return;
    }
  }
  if (mine !== navigation) return;
  renderSession();
  if (access === 'needed' && !open.has(key)) {
    renderSignIn(main);
    return;
  }
  try {
    const module = await section.load();
    if (mine !== navigation) return;
    // Each view draws into its own container: one that is overtaken while it awaits draws into a detached node.
    const view = h('div', { class: 'view' });
    main.replaceChildren(view);
    const stopThis = (await module.render(view, rest.map(decodeURIComponent).join('/'))) ?? (() => {});
    if (mine === navigation) stop = stopThis;
    else stopThis(); // overtaken while it drew: stop what it started
  } catch (error) {
    if (mine === navigation) showProblem(main, error, { replace: true });
  }
}

window.addEventListener('hashchange', () => {
  route();
  document.getElementById('main').focus();
});
route();
