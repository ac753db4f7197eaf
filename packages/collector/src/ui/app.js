// The dashboard's shell: a hash router over six views, the reader token, errors.
//   #/                 fleet overview
//   #/services         service matrix
//   #/hosts?filters    hosts list (q, rule, severity, mode, stale, offset)
//   #/hosts/<id>       one host (?service=tcp/443&endpoint=NAME marks a backend's service)
//   #/endpoints        published endpoints, per family a verdict
//   #/endpoints/<name> one endpoint: per vantage point and family, every address
import { ApiError, token } from './api.js';
import { h, replace } from './dom.js';
import { endpoint, endpoints } from './endpoints.js';
import { overview, services } from './fleet.js';
import { host, hosts } from './hosts.js';

const main = document.getElementById('main');
const live = document.getElementById('live');
const tokenState = document.getElementById('token-state');

const ROUTES = [
  { name: 'overview', nav: '#/', pattern: /^\/?$/, view: overview },
  { name: 'services', nav: '#/services', pattern: /^\/services\/?$/, view: services },
  { name: 'hosts', nav: '#/hosts', pattern: /^\/hosts\/?$/, view: hosts },
  { name: 'host', nav: '#/hosts', pattern: /^\/hosts\/(.+)$/, view: host },
  { name: 'endpoints', nav: '#/endpoints', pattern: /^\/endpoints\/?$/, view: endpoints },
  { name: 'endpoint', nav: '#/endpoints', pattern: /^\/endpoints\/(.+)$/, view: endpoint },
];

function parseHash() {
  const hash = location.hash.replace(/^#/, '');
  const raw = hash.startsWith('/') ? hash : '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (m) {
      let id;
      try {
        id = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
      } catch {
        id = m[1];
      }
      return { route, params, id };
    }
  }
  return { route: null, params, path };
}

let current = null; // { name, key, update, controller }
let seq = 0;

function renderTokenState() {
  const t = token.get();
  replace(
    tokenState,
    t
      ? [h('span', { class: 'muted' }, 'Reader token set'), ' ', h('button', { type: 'button', class: 'link', on: { click: forgetToken } }, 'Forget token')]
      : h('button', { type: 'button', class: 'link', on: { click: () => showTokenForm(null) } }, 'Enter token'),
  );
}

function forgetToken() {
  token.clear();
  renderTokenState();
  announce('Token forgotten.');
  route(true);
}

function announce(text) {
  live.textContent = '';
  setTimeout(() => (live.textContent = text), 30);
}

function markNav(route) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (route && a.getAttribute('href') === route.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function ready(name) {
  main.removeAttribute('aria-busy');
  main.dataset.ready = name;
  try {
    // ready: the view is in the DOM; painted: the frame after it (what a benchmark times).
    performance.mark(`dualstack:ready:${name}`);
    requestAnimationFrame(() => setTimeout(() => performance.mark(`dualstack:painted:${name}`), 0));
  } catch {
    /* marks unsupported */
  }
}

/** The token form, with why it is shown: none given, refused (401), or not a reader (403). */
function showTokenForm(error) {
  if (current && current.controller) current.controller.abort();
  current = { name: 'token', key: 'token' };
  const had = token.get();
  let why;
  if (!error) why = 'Enter a reader token for this collector.';
  else if (error.status === 403) why = `This token may not read the fleet: ${error.message} Use a token with role reader or admin.`;
  else if (had) why = `The collector refused the token: ${error.message}`;
  else why = `This collector needs a reader token: ${error.message}`;
  if (error && had) token.clear();
  renderTokenState();
  const input = h('input', { id: 'token-input', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-why token-help' });
  const form = h(
    'form',
    {
      class: 'token-form',
      on: {
        submit: (e) => {
          e.preventDefault();
          const value = input.value.trim();
          if (!value) return;
          token.set(value);
          renderTokenState();
          route(true);
        },
      },
    },
    h('label', { for: 'token-input' }, 'Reader token'),
    h('div', { class: 'row' }, input, h('button', { type: 'submit' }, 'Use token')),
  );
  const message = error ? h('div', { id: 'token-why', class: 'error-box', role: 'alert', dataset: { status: error.status } }, h('strong', null, error.status === 403 ? 'Not allowed. ' : 'Not signed in. '), why) : h('p', { id: 'token-why' }, why);
  replace(
    main,
    h(
      'div',
      { class: 'view auth' },
      h('h1', { tabindex: '-1' }, 'Reader token'),
      message,
      form,
      h('p', { id: 'token-help', class: 'muted' }, 'The token is kept in this browser tab (session storage) and sent only to this collector. An operator creates one with ', h('code', null, 'dualstack-collector token create --name NAME --role reader'), '.'),
    ),
  );
  document.title = 'Reader token · dualstack';
  markNav(null);
  ready('token');
  input.focus();
}

function showError(error, name) {
  const retry = h('button', { type: 'button', on: { click: () => route(true) } }, 'Try again');
  replace(
    main,
    h(
      'div',
      { class: 'view' },
      h('h1', { tabindex: '-1' }, 'Something went wrong'),
      h('div', { class: 'error-box', role: 'alert', dataset: { status: error.status ?? '' } }, error instanceof ApiError ? `The collector answered ${error.status || 'nothing'}: ${error.message}` : `The page failed: ${error.message}`),
      h('p', null, retry, ' ', h('a', { href: '#/' }, 'Overview')),
    ),
  );
  document.title = 'Error · dualstack';
  ready(`error-${name}`);
}

/** Renders the view of the current hash; `force` re-renders even an in-place view. */
async function route(force = false) {
  const { route: r, params, id, path } = parseHash();
  const my = ++seq;
  if (current && current.controller) current.controller.abort();
  const controller = new AbortController();
  markNav(r);
  main.removeAttribute('data-ready');
  if (!r) {
    current = { name: 'missing', key: 'missing' };
    replace(main, h('div', { class: 'view' }, h('h1', { tabindex: '-1' }, 'No such page'), h('p', null, `Nothing at #${path}. `, h('a', { href: '#/' }, 'Go to the overview'), '.')));
    document.title = 'Not found · dualstack';
    ready('missing');
    return;
  }
  const key = `${r.name}:${id ?? ''}`;
  const ctx = { params, id, signal: controller.signal };
  main.setAttribute('aria-busy', 'true');
  let slow;
  try {
    // The hosts list updates in place when only its filters change, so focus stays in the form.
    if (!force && current && current.key === key && current.update) {
      current.controller = controller;
      await current.update(ctx);
      if (my !== seq) return;
      ready(r.name);
      return;
    }
    slow = setTimeout(() => {
      if (my === seq) replace(main, h('p', { class: 'loading' }, 'Loading…'));
    }, 150);
    current = { name: r.name, key, controller };
    const result = await r.view(ctx);
    clearTimeout(slow);
    if (my !== seq) return;
    current.update = result.update;
    replace(main, result.node);
    document.title = `${result.title} · dualstack`;
    const heading = main.querySelector('h1');
    if (result.target) {
      // A view that names a target (a backend's service row) opens on it, focused.
      result.target.setAttribute('tabindex', '-1');
      result.target.scrollIntoView({ block: 'center' });
      result.target.focus({ preventScroll: true });
    } else {
      // After a navigation, focus the new page's heading so a screen reader announces it.
      if (heading && navigatedByUser) heading.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
    navigatedByUser = false;
    ready(r.name);
  } catch (error) {
    clearTimeout(slow);
    if (my !== seq || (error && error.name === 'AbortError')) return;
    if (error instanceof ApiError && error.isAuth) showTokenForm(error);
    else showError(error, r.name);
  }
}

let navigatedByUser = false;
window.addEventListener('hashchange', () => {
  // Only #/... are pages; another fragment (a skip link followed without script) is not.
  if (location.hash && !location.hash.startsWith('#/')) return;
  navigatedByUser = true;
  route(false);
});

// In-page links (#services on a host page) scroll without touching the router's hash.
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[data-scroll]') : null;
  if (!a) return;
  const target = document.getElementById(a.dataset.scroll);
  if (!target) return;
  e.preventDefault();
  target.scrollIntoView({ block: 'start' });
  const heading = target.hasAttribute('tabindex') ? target : target.querySelector('h1, h2');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
});

renderTokenState();
route(true);
