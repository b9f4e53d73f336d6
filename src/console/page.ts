// The console page: one self-contained HTML document that polls /console/api/state.
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ebsim console</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#1c2733;background:#f6f8fb}
header{background:#1f3b5c;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;opacity:.8;font-size:13px}
main{display:grid;grid-template-columns:1fr 1fr;gap:16px;padding:16px 24px}
section{background:#fff;border:1px solid #d5dde8;border-radius:8px;padding:12px 16px;overflow:auto}
section.wide{grid-column:1 / span 2}
h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%;font-size:12px}
td,th{border-bottom:1px solid #e6ebf2;padding:4px 6px;text-align:left;vertical-align:top}
.denied{color:#c0392b}.state-live,.state-Enabled,.state-in-use{color:#1e7b34}.state-revoked,.state-Disabled,.state-PendingDeletion{color:#c0392b}.state-retired{color:#8a94a3}
code{font-size:11px}
</style></head><body>
<header><h1>ebsim console</h1><p id="summary">loading…</p></header>
<main>
<section><h2>Keys</h2><table id="keys"></table></section>
<section><h2>Aliases</h2><table id="aliases"></table></section>
<section class="wide"><h2>Grants</h2><table id="grants"></table></section>
<section><h2>Instances</h2><table id="instances"></table></section>
<section><h2>Volumes</h2><table id="volumes"></table></section>
<section class="wide"><h2>Trail: sequence diagram (latest calls)</h2><div id="diagram"></div></section>
<section class="wide"><h2>Trail: timeline (newest first)</h2><table id="trail"></table></section>
</main>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const table = (id, head, rows) => { document.getElementById(id).innerHTML = '<tr>' + head.map((h) => '<th>' + h + '</th>').join('') + '</tr>' + rows.join(''); };
let last = '';
async function refresh() {
  try {
    const s = await (await fetch('/console/api/state', { cache: 'no-store' })).json();
    const text = JSON.stringify(s);
    if (text === last) return;
    last = text;
    if (!s.initialized) { document.getElementById('summary').textContent = 'This ebsim home has no account yet: run ebsim init.'; return; }
    document.getElementById('summary').textContent = 'Account ' + s.account.accountId + ' in ' + s.account.region + ' · ' + s.trail.total + ' calls recorded, ' + s.trail.denied + ' denied · updates live';
    table('keys', ['Key', 'State', 'Manager', 'Versions', 'Description'], s.keys.map((k) => '<tr><td><code>' + esc(k.KeyId) + '</code></td><td class="state-' + esc(k.KeyState) + '">' + esc(k.KeyState) + '</td><td>' + esc(k.KeyManager) + '</td><td>' + k.KeyVersions + '</td><td>' + esc(k.Description) + '</td></tr>'));
    table('aliases', ['Alias', 'Key'], s.aliases.map((a) => '<tr><td>' + esc(a.AliasName) + '</td><td><code>' + esc(a.TargetKeyId) + '</code></td></tr>'));
    table('grants', ['Grant', 'State', 'Grantee', 'Operations', 'Constraints', 'Key'], s.grants.map((g) => '<tr><td><code>' + esc(g.GrantId.slice(0, 12)) + '…</code></td><td class="state-' + esc(g.State) + '">' + esc(g.State) + '</td><td>' + esc(g.GranteePrincipal) + '</td><td>' + esc(g.Operations.join(', ')) + '</td><td><code>' + esc(g.Constraints ? JSON.stringify(g.Constraints) : '') + '</code></td><td><code>' + esc(g.KeyArn.split('/').pop()) + '</code></td></tr>'));
    table('instances', ['Instance', 'State', 'Type', 'Launched'], s.instances.map((i) => '<tr><td><code>' + esc(i.InstanceId) + '</code></td><td>' + esc(i.State) + '</td><td>' + esc(i.InstanceType) + '</td><td>' + esc(i.LaunchTime) + '</td></tr>'));
    table('volumes', ['Volume', 'State', 'Size', 'Encrypted', 'Attached', 'Mounted'], s.volumes.map((v) => '<tr data-volume="' + esc(v.VolumeId) + '"><td><code>' + esc(v.VolumeId) + '</code></td><td class="state-' + esc(v.State) + '">' + esc(v.State) + '</td><td>' + v.SizeGiB + ' GiB</td><td>' + (v.Encrypted ? 'yes' : 'no') + '</td><td>' + esc(v.InstanceId ? v.InstanceId + ' ' + v.Device : '') + '</td><td>' + esc(v.Mount ? v.Mount.Mountpoint + (v.Mount.Healthy ? '' : ' (unhealthy)') : '') + '</td></tr>'));
    document.getElementById('diagram').innerHTML = s.trail.diagramSvg;
    table('trail', ['Time', 'Caller', 'Call', 'Result'], s.trail.events.map((e) => '<tr class="' + (e.errorCode ? 'denied' : '') + '" data-event="' + esc(e.eventName) + '"><td>' + esc(e.eventTime) + '</td><td>' + esc(e.caller) + '</td><td>' + esc(e.eventSource.split('.')[0].toUpperCase() + ' ' + e.eventName) + '</td><td>' + esc(e.errorCode || 'ok') + '</td></tr>'));
  } catch (err) {
    document.getElementById('summary').textContent = 'cannot reach ebsim: ' + err;
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body></html>
`;
