// The --explain rendering: the decision, then each policy with its statements, ✓ for one that
// applies and ✗ for one that does not, each with the reasons its elements gave.
import type { Evaluation, StatementTrace } from './types.js';

function headline(e: Evaluation): string {
  if (e.decision === 'Allow') return 'Decision: Allow';
  const by = e.deniedBy!;
  return by.kind === 'explicit'
    ? `Decision: ExplicitDeny (a Deny statement in a ${by.policyType} policy applies)`
    : `Decision: ImplicitDeny (no ${by.policyType} policy allows the request)`;
}

function statementLine(t: StatementTrace): string {
  const name = t.sid !== undefined && t.sid !== '' ? ` "${t.sid}"` : '';
  const scope = t.principalMatch === 'account' ? ' (names the account)' : '';
  return `  ${t.matched ? '✓' : '✗'} Statement ${t.index}${name}: ${t.effect}${t.matched ? ', applies' : ', does not apply'}${scope}`;
}

export function formatExplanation(evaluation: Evaluation): string {
  const lines = [headline(evaluation)];
  let current: string | undefined;
  for (const t of evaluation.trace) {
    const group = `${t.policy} (${t.policyType})`;
    if (group !== current) {
      lines.push(group);
      current = group;
    }
    lines.push(statementLine(t));
    for (const r of t.reasons) lines.push(`      ${r}`);
  }
  if (evaluation.trace.length === 0) lines.push('(no statements were traced: evaluated with explain: false, or no policy applies to this request)');
  return lines.join('\n');
}
