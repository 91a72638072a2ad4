#pragma once

// The status page served at `/`: it polls /status.json every two seconds and shows the
// processors, their partitions (state, lag, offsets, deferred records, restarts, store), the
// tables followed, the brokers and the
// partition leaders, and charts of the last minutes (records per second, lag per partition,
// brokers up and down), drawn as inline SVG: the page needs no script from elsewhere.

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
  .charts { display: flex; flex-wrap: wrap; gap: 1em; }
  figure { margin: 0; } figcaption { font-size: 0.85em; color: #555; }
  svg.chart { border: 1px solid #ddd; background: #fcfcfc; font-size: 10px; }
</style>
</head>
<body>
<h1>Partita: <span id="group">…</span></h1>
<p id="summary">loading…</p>
<p id="error"></p>
<h2>Last minutes</h2>
<div class="charts">
  <figure><figcaption>records processed per second</figcaption>
    <svg id="chart-rate" class="chart" width="420" height="130"></svg></figure>
  <figure><figcaption>lag per partition (records)</figcaption>
    <svg id="chart-lag" class="chart" width="420" height="130"></svg></figure>
  <figure><figcaption>brokers: up (green), down (red)</figcaption>
    <svg id="chart-brokers" class="chart" width="420" height="130"></svg></figure>
</div>
<h2>Partitions</h2>
<table id="partitions">
  <thead><tr><th class="text">group</th><th>partition</th><th class="text">state</th><th>lag (records)</th>
  <th class="text">committed offsets</th><th>deferred</th><th>restarts</th><th>backoff (s)</th>
  <th class="text">last restart</th><th>recovery</th><th>state (MiB)</th></tr></thead>
  <tbody></tbody>
</table>
<h2>Tables followed</h2>
<p class="note">Joined and looked-up tables, views and hot standby partitions.</p>
<table id="tables"><thead><tr><th class="text">table</th><th class="text">followed by</th>
  <th>partition</th>
  <th class="text">state</th><th>position</th><th>lag (records)</th><th>state (MiB)</th></tr>
  </thead><tbody></tbody></table>
<h2>Brokers</h2>
<table id="brokers"><thead><tr><th>broker</th><th class="text">state</th>
  <th>partitions led</th></tr></thead><tbody></tbody></table>
<h2>Records</h2>
<table id="topics"><thead><tr><th class="text">group</th><th class="text">topic</th>
  <th>consumed</th><th>processed</th>
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
const SVG = 'http://www.w3.org/2000/svg', W = 420, H = 130, LEFT = 44, BOTTOM = 16;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2',
                '#17becf'];
function svg(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function frame(el, t0, t1, top) {
  el.replaceChildren(
    svg('line', {x1: LEFT, y1: H - BOTTOM, x2: W - 4, y2: H - BOTTOM, stroke: '#999'}),
    svg('text', {x: 2, y: 12}, top),
    svg('text', {x: LEFT, y: H - 3}, '-' + Math.round(t1 - t0) + ' s'),
    svg('text', {x: W - 30, y: H - 3}, 'now'));
  return t => LEFT + (W - LEFT - 6) * (t - t0) / Math.max(1, t1 - t0);
}
/// Lines over time: series = [{name, points: [[t, value], ...]}].
function lines(id, series) {
  const el = document.getElementById(id);
  const all = series.flatMap(s => s.points);
  if (all.length < 2) {
    el.replaceChildren(svg('text', {x: LEFT, y: H / 2}, 'collecting figures…'));
    return;
  }
  const t0 = Math.min(...all.map(p => p[0])), t1 = Math.max(...all.map(p => p[0]));
  const top = Math.max(1, ...all.map(p => p[1]));
  const x = frame(el, t0, t1, Math.round(top));
  const y = v => H - BOTTOM - (H - BOTTOM - 14) * v / top;
  series.forEach((s, i) => el.append(svg('polyline', {
    'data-series': s.name, fill: 'none', stroke: COLORS[i % COLORS.length], 'stroke-width': 1.5,
    points: s.points.map(p => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' ')})));
}
/// One row per broker, green while up and red while down, sample by sample.
function brokers(samples) {
  const el = document.getElementById('chart-brokers');
  if (samples.length < 2) {
    el.replaceChildren(svg('text', {x: LEFT, y: H / 2}, 'collecting figures…'));
    return;
  }
  const ids = [...new Set(samples.flatMap(s => Object.keys(s.brokers)))].sort((a, b) => a - b);
  const x = frame(el, samples[0].t, samples[samples.length - 1].t, '');
  const row = Math.min(24, (H - BOTTOM - 8) / Math.max(1, ids.length));
  ids.forEach((b, r) => {
    el.append(svg('text', {x: 2, y: 8 + r * row + row * 0.7}, 'broker ' + b));
    for (let i = 0; i + 1 < samples.length; ++i) {
      const up = samples[i].brokers[b];
      if (up === undefined) continue;
      el.append(svg('rect', {'data-broker': b, 'data-up': String(up), x: x(samples[i].t),
        y: 8 + r * row, width: Math.max(1, x(samples[i + 1].t) - x(samples[i].t)),
        height: row - 4, fill: up ? '#16794a' : '#b3261e'}));
    }
  });
}
function charts(history) {
  const s = history.samples;
  const rate = [];
  for (let i = 1; i < s.length; ++i)
    rate.push([s[i].t, Math.max(0, s[i].records - s[i - 1].records) / (s[i].t - s[i - 1].t)]);
  lines('chart-rate', [{name: 'records', points: rate}]);
  const parts = [...new Set(s.flatMap(p => Object.keys(p.lag)))]
    .sort((a, b) => a.localeCompare(b, undefined, {numeric: true}));
  lines('chart-lag', parts.map(p => ({name: 'lag-' + p,
    points: s.filter(q => p in q.lag).map(q => [q.t, q.lag[p]])})));
  brokers(s);
}
async function refresh() {
  try {
    const res = await fetch('/status.json');
    const s = await res.json();
    document.getElementById('error').textContent = '';
    document.getElementById('group').textContent = s.group;
    const line = p => `${p.ready} of ${p.partitions} partitions ready, ${p.failed} failed; ` +
      `${p.records} records processed` + (p.running ? '' : ' (not running)');
    document.getElementById('summary').textContent = s.processors.length > 1
      ? s.processors.map(p => p.group + ': ' + line(p)).join(' · ') : line(s);
    charts(s.history);
    fill('partitions', s.partition_list.map(p => {
      const tr = document.createElement('tr');
      tr.dataset.group = p.group;
      tr.dataset.partition = p.partition;
      tr.dataset.state = p.state;
      tr.append(cell(p.group, 'text'), cell(p.partition), cell(p.state, 'text ' + p.state), cell(p.lag),
        cell(Object.entries(p.committed).map(([t, o]) => t + '@' + o).join(' ') || '–', 'text'),
        cell(p.deferred), cell(p.restarts), cell(p.backoff_seconds.toFixed(1)),
        cell(ago(p.last_restart), 'text'),
        cell(Math.round(p.recovery * 100) + '%'), cell((p.store_bytes / 1048576).toFixed(1)));
      return tr;
    }));
    fill('tables', s.tables.map(t => {
      const tr = document.createElement('tr');
      tr.dataset.table = t.table;
      tr.dataset.state = t.state;
      tr.append(cell(t.table, 'text'), cell(t.group || 'a view', 'text'), cell(t.partition), cell(t.state, 'text ' + t.state),
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
      tr.append(cell(t.group, 'text'), cell(t.topic, 'text'), cell(t.consumed), cell(t.processed), cell(t.produced),
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
