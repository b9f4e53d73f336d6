// A key policy in a few lines: one per statement, as a reader would say it ("Allow the account's
// principals kms:Decrypt,… when kms:ViaService = ec2.us-east-1.amazonaws.com"). Pure.

type Json = Record<string, unknown>;

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

function principalOf(st: Json): string {
  if (st.Principal === '*') return 'anyone';
  const p = (st.Principal ?? {}) as Json;
  const names = [...list(p.AWS), ...list(p.Service)].map((a) => (/^arn:aws:iam::(\d{12}):root$/.test(a) ? `account ${a.split(':')[4]}` : a === '*' ? 'any principal' : a.replace(/^arn:aws:iam::\d{12}:/, '')));
  return names.join(', ') || 'no principal';
}

function conditionsOf(st: Json): string {
  const c = (st.Condition ?? {}) as Record<string, Json>;
  const parts = Object.entries(c).flatMap(([op, kv]) => Object.entries(kv).map(([k, v]) => `${k} ${/Not/.test(op) ? '≠' : '='} ${list(v).join('|')}`));
  return parts.length ? ` when ${parts.join(' and ')}` : '';
}

/** One line per statement of a policy document's text; a text that is not a policy says so. */
export function summarizePolicy(text: string): string[] {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch {
    return ['(the policy is not valid JSON)'];
  }
  const statements = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]).filter((s): s is Json => !!s && typeof s === 'object');
  return statements.map((st) => {
    const actions = list(st.Action ?? st.NotAction);
    const what = actions.length > 4 ? `${actions.slice(0, 3).join(',')},… (${actions.length} actions)` : actions.join(',');
    return `${String(st.Effect ?? '?')} ${principalOf(st)}: ${st.NotAction ? 'all but ' : ''}${what}${conditionsOf(st)}`;
  });
}
