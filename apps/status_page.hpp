#pragma once

// The status page served at `/`: it polls /status.json every two seconds and shows the
// partitions (state, lag, offsets, restarts, store), the brokers and the partition leaders.

namespace partita {

inline constexpr const char* status_page_html = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Partita status</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.3em; } h2 { font-size: 1.05em; margin-top: 1.5em; }
  table { border-collapse: collapse; }
  th, td { padding: 0.25em 0.8em; text-align: right; border-bottom: 1px solid #ddd; }
  th { background: #f3f3f3; } td.text, th.text { text-align: left; }
  .running, .up { color: #16794a; } .recovering, .waiting { color: #a36a00; }
  .failed, .stopped, .down { color: #b3261e; font-weight: bold; }
  #error { color: #b3261e; }
</style>
</head>
<body>
<h1>Partita: <span id="group">…</span></h1>
<p id="summary">loading…</p>
<p id="error"></p>
<h2>Partitions</h2>
<table id="partitions">
  <thead><tr><th>partition</th><th class="text">state</th><th>lag (records)</th>
  <th class="text">committed offsets</th><th>restarts</th><th>backoff (s)</th>
  <th class="text">last restart</th><th>recovery</th><th>state (MiB)</th></tr></thead>
  <tbody></tbody>
</table>
<h2>Tables followed</h2>
<p class="note">Joined and looked-up tables, views and hot standby partitions.</p>
<table id="tables"><thead><tr><th class="text">table</th><th>partition</th>
  <th class="text">state</th><th>position</th><th>lag (records)</th><th>state (MiB)</th></tr>
  </thead><tbody></tbody></table>
<h2>Brokers</h2>
<table id="brokers"><thead><tr><th>broker</th><th class="text">state</th>
  <th>partitions led</th></tr></thead><tbody></tbody></table>
<h2>Records</h2>
<table id="topics"><thead><tr><th class="text">topic</th><th>consumed</th><th>processed</th>
  <th>produced</th><th>dead-lettered</th></tr></thead><tbody></tbody></table>
<script>
function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function fill(id, rows) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren(...rows);
}
function ago(ts) {
  if (!ts) return '–';
  const s = Math.max(0, Math.round(Date.now() / 1000 - ts));
  return s < 120 ? s + ' s ago' : Math.round(s / 60) + ' min ago';
}
async function refresh() {
  try {
    const res = await fetch('/status.json');
    const s = await res.json();
    document.getElementById('error').textContent = '';
    document.getElementById('group').textContent = s.group;
    document.getElementById('summary').textContent =
      `${s.ready} of ${s.partitions} partitions ready, ${s.failed} failed; ` +
      `${s.records} records processed` + (s.running ? '' : ' (not running)');
    fill('partitions', s.partition_list.map(p => {
      const tr = document.createElement('tr');
      tr.dataset.partition = p.partition;
      tr.dataset.state = p.state;
      tr.append(cell(p.partition), cell(p.state, 'text ' + p.state), cell(p.lag),
        cell(Object.entries(p.committed).map(([t, o]) => t + '@' + o).join(' ') || '–', 'text'),
        cell(p.restarts), cell(p.backoff_seconds.toFixed(1)), cell(ago(p.last_restart), 'text'),
        cell(Math.round(p.recovery * 100) + '%'), cell((p.store_bytes / 1048576).toFixed(1)));
      return tr;
    }));
    fill('tables', s.tables.map(t => {
      const tr = document.createElement('tr');
      tr.dataset.table = t.table;
      tr.dataset.state = t.state;
      tr.append(cell(t.table, 'text'), cell(t.partition), cell(t.state, 'text ' + t.state),
        cell(t.position), cell(t.lag), cell((t.store_bytes / 1048576).toFixed(1)));
      return tr;
    }));
    fill('brokers', s.brokers.map(b => {
      const tr = document.createElement('tr');
      tr.dataset.broker = b.broker;
      tr.append(cell(b.broker), cell(b.up ? 'up' : 'down', 'text ' + (b.up ? 'up' : 'down')),
        cell(b.leads));
      return tr;
    }));
    fill('topics', s.topics.map(t => {
      const tr = document.createElement('tr');
      tr.append(cell(t.topic, 'text'), cell(t.consumed), cell(t.processed), cell(t.produced),
        cell(t.dead_lettered));
      return tr;
    }));
  } catch (e) {
    document.getElementById('error').textContent = 'cannot reach the service: ' + e;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)html";

} // namespace partita
