// Findings as the dashboard shows them, wherever they are (a host's, an endpoint's): severity
// and rule, the message, the evidence, and the fix with its commands to copy.
import { h, severity, time } from './dom.js';

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h('textarea', { class: 'sr-only', readonly: true });
  area.value = text;
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

/**
 * One finding. `firstSeen` is there for a host's findings (kept per report); an endpoint's are
 * judged at each read and have none. `evidenceOpen` shows the evidence without a click.
 */
function findingArticle(f, index, { evidenceOpen = false } = {}) {
  const commands = f.fix.commands.join('\n');
  const feedback = h('span', { role: 'status', class: 'copy-status' });
  const copy = h(
    'button',
    {
      type: 'button',
      class: 'copy',
      'aria-describedby': `fix-${index}`,
      on: {
        click: async () => {
          try {
            await copyText(commands);
            feedback.textContent = 'Copied.';
          } catch {
            feedback.textContent = 'Copy failed: select the commands and copy them by hand.';
          }
          setTimeout(() => (feedback.textContent = ''), 4000);
        },
      },
    },
    'Copy commands',
  );
  return h(
    'article',
    { class: `finding sev-${f.severity} ${f.resolvedAt ? 'resolved' : ''}`, dataset: { rule: f.rule, subject: f.subject } },
    h('h3', null, severity(f.severity), ' ', h('span', { class: 'mono' }, f.rule), ' · ', h('span', { class: 'subject' }, f.subject)),
    h('p', null, f.message),
    f.firstSeen ? h('p', { class: 'sub' }, 'Open since ', time(f.firstSeen), f.resolvedAt ? h('span', null, '; resolved ', time(f.resolvedAt)) : null) : null,
    f.evidence.length ? h('details', { open: evidenceOpen }, h('summary', null, `Evidence (${f.evidence.length})`), h('ul', { class: 'evidence mono' }, f.evidence.map((e) => h('li', null, e)))) : null,
    h('div', { class: 'fix' }, h('h4', null, 'Fix'), h('p', null, f.fix.summary), commands ? h('div', { class: 'commands' }, h('pre', { id: `fix-${index}`, tabindex: '0', 'aria-label': `Fix commands for ${f.rule} on ${f.subject}` }, h('code', null, f.fix.commands.map((line) => h('span', { class: 'line' }, line)))), h('div', { class: 'copy-row' }, copy, feedback)) : null),
  );
}

/** The findings panel (#findings): the open ones, then the recently resolved ones folded. */
export function findingsSection(findings, { intro = null, evidenceOpen = false } = {}) {
  const open = findings.filter((f) => !f.resolvedAt);
  const resolved = findings.filter((f) => f.resolvedAt);
  let i = 0;
  return h(
    'section',
    { id: 'findings', 'aria-labelledby': 'findings-h', class: 'panel' },
    h('h2', { id: 'findings-h' }, `Findings (${open.length} open)`),
    intro ? h('p', { class: 'muted' }, intro) : null,
    open.length ? open.map((f) => findingArticle(f, i++, { evidenceOpen })) : h('p', { class: 'ok-note' }, h('span', { 'aria-hidden': 'true' }, '✔ '), 'No open findings.'),
    resolved.length ? h('details', { class: 'resolved' }, h('summary', null, `Recently resolved (${resolved.length})`), resolved.map((f) => findingArticle(f, i++, { evidenceOpen }))) : null,
  );
}
