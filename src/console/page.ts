// The console page: one self-contained HTML document that polls /console/api/state. A volume's row
// opens its envelope (/console/api/volumes/ID), a timeline row its whole record (/console/api/events/ID).
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ebsim console</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#1c2733;background:#f6f8fb}
header{background:#1f3b5c;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;opacity:.85;font-size:13px}header select{font-size:12px}
main{display:grid;grid-template-columns:1fr 1fr;gap:16px;padding:16px 24px}
section{background:#fff;border:1px solid #d5dde8;border-radius:8px;padding:12px 16px;overflow:auto}
section.wide{grid-column:1 / span 2}
h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%;font-size:12px}
td,th{border-bottom:1px solid #e6ebf2;padding:4px 6px;text-align:left;vertical-align:top}
.denied{color:#c0392b}.state-live,.state-Enabled,.state-in-use{color:#1e7b34}.state-revoked,.state-Disabled,.state-PendingDeletion{color:#c0392b}.state-retired{color:#8a94a3}
code{font-size:11px}
#warnings{display:none;grid-column:1 / span 2;background:#fff4f2;border:1px solid #e3a79d;border-radius:8px;padding:8px 16px}
#warnings h2{color:#a93226}#warnings li{margin:4px 0;font-size:13px}
tr.clickable{cursor:pointer}tr.clickable:hover{background:#eef3fa}tr.selected{background:#dde8f6}
.broken{color:#c0392b;font-weight:600}.holds{color:#1e7b34}
#details{display:none}#details pre{font-size:12px;line-height:1.35;white-space:pre-wrap;margin:0}
#details .error{color:#c0392b;font-weight:600;margin:0 0 6px}
</style></head><body>
<header><h1>ebsim console</h1><p><label>Showing <select id="scope" title="account and Region (?account=ID&amp;region=R)"></select></label> <span id="summary">loading…</span></p></header>
<main>
<section id="warnings"><h2>Broken links</h2><ul id="warning-list"></ul></section>
<section><h2>Keys</h2><table id="keys"></table></section>
<section><h2>Aliases</h2><table id="aliases"></table></section>
<section class="wide"><h2>Grants</h2><table id="grants"></table></section>
<section><h2>Instances</h2><table id="instances"></table></section>
<section><h2>Volumes <small>(click one for its envelope)</small></h2><table id="volumes"></table></section>
<section class="wide" id="details"><h2 id="details-title"></h2><p class="error" id="details-error"></p><pre id="details-body"></pre></section>
<section class="wide"><h2>Trail: sequence diagram (latest calls)</h2><div id="diagram"></div></section>
<section class="wide"><h2>Trail: timeline (newest first; click a row for its record)</h2><table id="trail"></table></section>
</main>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const table = (id, head, rows) => { document.getElementById(id).innerHTML = '<tr>' + head.map((h) => '<th>' + h + '</th>').join('') + '</tr>' + rows.join(''); };
let last = '';
let lastOptions = '';
let selected = null; // { kind: 'volume' | 'event', id }
// The account and Region shown: ?account=ID&region=R, kept in the address so a reload or a link shows the same.
const scopeQuery = () => { const q = new URLSearchParams(location.search); const o = new URLSearchParams(); for (const k of ['account', 'region']) if (q.get(k)) o.set(k, q.get(k)); const t = o.toString(); return t ? '?' + t : ''; };
document.getElementById('scope').addEventListener('change', (ev) => {
  const [account, region] = ev.target.value.split(' ');
  history.replaceState(null, '', '?account=' + encodeURIComponent(account) + '&region=' + encodeURIComponent(region));
  last = '';
  selected = null;
  document.getElementById('details').style.display = 'none';
  refresh();
});
async function show(kind, id) {
  selected = { kind, id };
  const res = await fetch('/console/api/' + (kind === 'volume' ? 'volumes/' : 'events/') + encodeURIComponent(id) + (kind === 'volume' ? scopeQuery() : ''), { cache: 'no-store' });
  const body = await res.json();
  const d = document.getElementById('details');
  d.style.display = 'block';
  document.getElementById('details-title').textContent = kind === 'volume' ? 'Envelope of ' + id + ' (ebsim explain ' + id + ')' : 'Trail record ' + id;
  document.getElementById('details-error').textContent = !res.ok ? body.message : kind === 'event' && body.errorCode ? body.errorCode + ': ' + (body.errorMessage || '(no message)') : '';
  document.getElementById('details-body').textContent = !res.ok ? '' : kind === 'volume' ? body.Text : JSON.stringify(body, null, 2);
  for (const tr of document.querySelectorAll('tr.selected')) tr.classList.remove('selected');
  const row = document.querySelector(kind === 'volume' ? 'tr[data-volume="' + CSS.escape(id) + '"]' : 'tr[data-event-id="' + CSS.escape(id) + '"]');
  if (row) row.classList.add('selected');
}
document.addEventListener('click', (ev) => {
  const tr = ev.target.closest('tr.clickable');
  if (!tr) return;
  if (tr.dataset.volume) show('volume', tr.dataset.volume);
  else if (tr.dataset.eventId) show('event', tr.dataset.eventId);
});
// The selector: every account of the home with its Regions, \`here\` selected; none (a first, empty
// choice) when the address names an account or Region the home cannot show (a 404 or 400).
function fillScope(accounts, here) {
  const options = (here ? '' : '<option value="" selected disabled>choose an account and Region…</option>') +
    accounts.flatMap((a) => a.regions.map((r) => '<option value="' + esc(a.accountId + ' ' + r) + '"' + (a.accountId + ' ' + r === here ? ' selected' : '') + '>' + esc(a.accountId + ' · ' + r) + '</option>')).join('');
  // Redrawn only when it changes: a redraw closes the list if the user has it open.
  if (options !== lastOptions) { document.getElementById('scope').innerHTML = options; lastOptions = options; }
}
async function refresh() {
  try {
    const res = await fetch('/console/api/state' + scopeQuery(), { cache: 'no-store' });
    const s = await res.json();
    if (!res.ok) {
      document.getElementById('summary').textContent = s.message + (s.accounts ? ' Choose an account and Region in the list.' : '');
      if (s.accounts) fillScope(s.accounts, null);
      last = '';
      return;
    }
    const text = JSON.stringify(s);
    if (text === last) return;
    last = text;
    if (!s.initialized) { document.getElementById('summary').textContent = 'This ebsim home has no account yet: run ebsim init.'; return; }
    fillScope(s.accounts, s.scope.accountId + ' ' + s.scope.region);
    document.getElementById('summary').textContent = 'Account ' + s.scope.accountId + ' in ' + s.scope.region + ' · ' + s.trail.total + ' calls recorded in the home, ' + s.trail.denied + ' denied · updates live';
    table('keys', ['Key', 'State', 'Manager', 'Versions', 'Description'], s.keys.map((k) => '<tr><td><code>' + esc(k.KeyId) + '</code></td><td class="state-' + esc(k.KeyState) + '">' + esc(k.KeyState) + '</td><td>' + esc(k.KeyManager) + '</td><td>' + k.KeyVersions + '</td><td>' + esc(k.Description) + '</td></tr>'));
    table('aliases', ['Alias', 'Key'], s.aliases.map((a) => '<tr><td>' + esc(a.AliasName) + '</td><td><code>' + esc(a.TargetKeyId) + '</code></td></tr>'));
    table('grants', ['Grant', 'State', 'Grantee', 'Operations', 'Constraints', 'Key'], s.grants.map((g) => '<tr><td><code>' + esc(g.GrantId.slice(0, 12)) + '…</code></td><td class="state-' + esc(g.State) + '">' + esc(g.State) + '</td><td>' + esc(g.GranteePrincipal) + '</td><td>' + esc(g.Operations.join(', ')) + '</td><td><code>' + esc(g.Constraints ? JSON.stringify(g.Constraints) : '') + '</code></td><td><code>' + esc(g.KeyArn.split('/').pop()) + '</code></td></tr>'));
    table('instances', ['Instance', 'State', 'Type', 'Launched'], s.instances.map((i) => '<tr><td><code>' + esc(i.InstanceId) + '</code></td><td>' + esc(i.State) + '</td><td>' + esc(i.InstanceType) + '</td><td>' + esc(i.LaunchTime) + '</td></tr>'));
    const keyCell = (k) => !k ? 'not encrypted' : esc(k.Alias || k.KeyId.slice(0, 8) + '…') + (k.KeyState && k.KeyState !== 'Enabled' ? ' <span class="broken">' + esc(k.KeyState) + '</span>' : '');
    table('volumes', ['Volume', 'State', 'Size', 'Key', 'Attached', 'Mounted', 'Envelope'], s.volumes.map((v) => '<tr class="clickable' + (selected && selected.kind === 'volume' && selected.id === v.VolumeId ? ' selected' : '') + '" data-volume="' + esc(v.VolumeId) + '"><td><code>' + esc(v.VolumeId) + '</code></td><td class="state-' + esc(v.State) + '">' + esc(v.State) + '</td><td>' + v.SizeGiB + ' GiB</td><td>' + keyCell(v.Key) + '</td><td>' + esc(v.InstanceId ? v.InstanceId + ' ' + v.Device : '') + '</td><td>' + esc(v.Mount ? v.Mount.Mountpoint + (v.Mount.Healthy ? '' : ' (unhealthy)') : '') + '</td><td>' + (v.Healthy ? '<span class="holds">✓ holds</span>' : '<span class="broken">✗ ' + esc(v.Broken.join('; ')) + '</span>') + '</td></tr>'));
    const w = document.getElementById('warnings');
    w.style.display = s.warnings.length ? 'block' : 'none';
    document.getElementById('warning-list').innerHTML = s.warnings.map((x) => '<li data-warning="' + esc(x.VolumeId) + '"><b><code>' + esc(x.VolumeId) + '</code>' + (x.Mounted ? ' (mounted)' : '') + '</b>: ' + esc(x.Problem) + ' — ' + esc(x.Consequence) + (x.BrokenBy ? ' <small>(' + esc(x.BrokenBy.EventName + ' by ' + x.BrokenBy.Caller + ', ' + x.BrokenBy.EventTime) + ')</small>' : '') + '</li>').join('');
    if (selected && selected.kind === 'volume') show('volume', selected.id);
    document.getElementById('diagram').innerHTML = s.trail.diagramSvg;
    table('trail', ['Time', 'Caller', 'Call', 'Result'], s.trail.events.map((e) => '<tr class="clickable' + (e.errorCode ? ' denied' : '') + (selected && selected.kind === 'event' && selected.id === e.eventID ? ' selected' : '') + '" data-event="' + esc(e.eventName) + '" data-event-id="' + esc(e.eventID) + '"><td>' + esc(e.eventTime) + '</td><td>' + esc(e.caller) + '</td><td>' + esc(e.eventSource.split('.')[0].toUpperCase() + ' ' + e.eventName) + '</td><td>' + esc(e.errorCode || 'ok') + '</td></tr>'));
  } catch (err) {
    document.getElementById('summary').textContent = 'cannot reach ebsim: ' + err;
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body></html>
`;
