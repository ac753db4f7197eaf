// A host's identity as the dashboard shows it: its host key (enrolled when, last used when) and,
// when other machines enrolled with its host id (a duplicate identity, most likely clones), each
// one's pending key with when and from where, the fix, and the admin commands for each key.
import { h, table, time } from './dom.js';

/** The facts line: the live key, or how the host reports without one. */
export function identityFact(identity) {
  if (!identity) return null;
  const key = identity.live
    ? h('span', null, 'host key enrolled ', time(identity.live.createdAt), ', last used ', identity.live.lastUsedAt ? time(identity.live.lastUsedAt) : 'never')
    : h('span', null, 'no live host key (it reports with an agent token, or its key was revoked)');
  return h('span', { dataset: { identity: identity.pendingKeys > 0 ? 'duplicate' : identity.enrolled ? 'enrolled' : 'token' } }, key, identity.pendingKeys > 0 ? [' ', duplicateBadge()] : null);
}

export function duplicateBadge() {
  return h('span', { class: 'badge duplicate', title: 'Other machines enrolled with this host id; their reports are refused until an admin accepts or revokes their keys.' }, 'duplicate identity');
}

/** The panel (#identity), only for a duplicate identity: null otherwise. */
export function identitySection(hostId, identity) {
  const pending = identity?.pending ?? [];
  if (pending.length === 0) return null;
  const command = (verb, key) => h('code', { class: 'mono', dataset: { command: verb } }, `dualstack-collector host ${verb} ${hostId} ${key.id}`);
  const rows = pending.map((key) =>
    h(
      'tr',
      { dataset: { keyId: key.id } },
      h('th', { scope: 'row', class: 'mono' }, key.id),
      h('td', null, key.hostname),
      h('td', { class: 'mono' }, key.peer ?? '–'),
      h('td', null, time(key.createdAt)),
      h('td', null, h('div', null, 'clone fixed: ', command('revoke', key)), h('div', null, 'replaces this host: ', command('accept', key))),
    ),
  );
  return h(
    'section',
    { id: 'identity', 'aria-labelledby': 'identity-h', class: 'panel identity' },
    h('h2', { id: 'identity-h' }, 'Duplicate identity'),
    h(
      'p',
      null,
      `${pending.length} other machine${pending.length === 1 ? '' : 's'} enrolled with this host id since `,
      time(pending[0].createdAt),
      `: most likely clones carrying the same /etc/machine-id. Their reports are refused and wait in their spools; ${identity.live ? 'this host keeps reporting with its own key' : "this host's own key is revoked"}.`,
    ),
    table('Pending host keys, oldest first, with the admin command for each', ['Key id', 'Hostname it gave', 'From', 'Enrolled', 'Admin command'], rows, { class: 'pending-keys' }),
    identity.fix ? h('div', { class: 'fix' }, h('h3', null, 'Fix'), h('p', { class: 'identity-fix' }, identity.fix)) : null,
  );
}
