// analytics.js - the Analytics view: charts of GET /v1/analytics.
//
// The server keeps 10 s points over the last hour in memory
// ({"timeseries":{"interval_s","points":[{t, requests, errors, refusals,
// p50_ms, p95_ms, stages:{NAME:{sum_ms,count}}}]}, "collections":{NAME:
// {usage:{backends:{...}}, embed_cache_lookups, embed_cache_hits, ...}}}).
// Chart.js (Debian's libjs-chart.js, embedded like the rest) is loaded the
// first time the view opens, so the Ask view does not wait for it. The
// view refreshes every 10 s while it is shown.

import { getJSON } from './api.js';
import { h, $, clear, fmtMs } from './dom.js';

let charts = null;
let timer = 0;
let chartLib = null;

function loadChartJs() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!chartLib) {
    chartLib = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/assets/chart.min.js';
      s.addEventListener('load', () => resolve(window.Chart));
      s.addEventListener('error', () => {
        chartLib = null;
        reject(new Error('cannot load Chart.js'));
      });
      document.head.append(s);
    });
  }
  return chartLib;
}

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function palette() {
  return { fg: css('--fg'), muted: css('--muted'), grid: css('--grid'),
    c: [css('--c1'), css('--c2'), css('--c3'), css('--c4'), css('--c5')] };
}

function clock(t) {
  return new Date(t * 1000).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function makeCharts(Chart) {
  const p = palette();
  Chart.defaults.color = p.muted;
  Chart.defaults.borderColor = p.grid;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  const line = (label, color, extra = {}) => ({ type: 'line', label, data: [], borderColor: color,
    backgroundColor: color, pointRadius: 0, borderWidth: 2, spanGaps: false, tension: 0.2, ...extra });
  const bar = (label, color, extra = {}) => ({ type: 'bar', label, data: [], backgroundColor: color, ...extra });
  const mk = (id, config) => new Chart($(id), config);
  const timeScales = (yTitle) => ({ x: { ticks: { maxTicksLimit: 6, autoSkip: true } },
    y: { beginAtZero: true, title: { display: !!yTitle, text: yTitle } } });
  return {
    requests: mk('#ch-requests', { type: 'bar', data: { labels: [], datasets: [
      bar('requests', p.c[0]), line('errors', p.c[3]), line('refusals', p.c[2])] },
    options: { scales: timeScales('per 10 s') } }),
    latency: mk('#ch-latency', { type: 'line', data: { labels: [], datasets: [
      line('p50', p.c[0]), line('p95', p.c[1])] }, options: { scales: timeScales('ms') } }),
    stages: mk('#ch-stages', { type: 'bar', data: { labels: [], datasets: [bar('mean ms', p.c[1])] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: 'ms' } } } } }),
    refusals: mk('#ch-refusals', { type: 'line', data: { labels: [], datasets: [line('refused %', p.c[2], { fill: true, backgroundColor: `${p.c[2]}33` })] },
      options: { scales: { ...timeScales('%'), y: { beginAtZero: true, suggestedMax: 100, title: { display: true, text: '%' } } } } }),
    cache: mk('#ch-cache', { type: 'bar', data: { labels: [], datasets: [bar('hits', p.c[4], { stack: 's' }), bar('misses', p.c[3], { stack: 's' })] },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'lookups' } } } } }),
    backends: mk('#ch-backends', { type: 'bar', data: { labels: [], datasets: [
      bar('calls', p.c[0]), bar('errors', p.c[3]), bar('fallbacks', p.c[2])] },
    options: { scales: { y: { beginAtZero: true } } } }),
    cost: mk('#ch-cost', { type: 'bar', data: { labels: [], datasets: [bar('cost this month', p.c[1]), bar('monthly budget', p.c[4])] },
      options: { indexAxis: 'y', scales: { x: { beginAtZero: true, title: { display: true, text: 'USD' } } } } }),
  };
}

function set(chart, labels, ...series) {
  chart.data.labels = labels;
  series.forEach((d, i) => { chart.data.datasets[i].data = d; });
  chart.update('none');
}

function tile(label, value, sub) {
  return h('div.tile', h('div.tile-value', value), h('div.tile-label', label), sub ? h('div.muted.small', sub) : null);
}

function backendsOf(collections) {
  const out = [];
  const many = Object.keys(collections).length > 1;
  for (const [cname, c] of Object.entries(collections)) {
    for (const [bname, b] of Object.entries((c.usage && c.usage.backends) || {})) {
      out.push({ name: many ? `${cname}/${bname}` : bname, ...b });
    }
  }
  return out;
}

function render(o) {
  const ts = o.timeseries || { points: [] };
  const pts = ts.points || [];
  const labels = pts.map((x) => clock(x.t));
  set(charts.requests, labels, pts.map((x) => x.requests), pts.map((x) => x.errors), pts.map((x) => x.refusals));
  set(charts.latency, labels, pts.map((x) => x.p50_ms), pts.map((x) => x.p95_ms));
  set(charts.refusals, labels, pts.map((x) => (x.requests ? (100 * x.refusals) / x.requests : null)));
  const stage = {};
  for (const x of pts) {
    for (const [k, v] of Object.entries(x.stages || {})) {
      stage[k] = stage[k] || { sum: 0, n: 0 };
      stage[k].sum += v.sum_ms || 0;
      stage[k].n += v.count || 0;
    }
  }
  const stageNames = Object.keys(stage);
  set(charts.stages, stageNames, stageNames.map((k) => (stage[k].n ? stage[k].sum / stage[k].n : 0)));

  const colls = o.collections || {};
  const cn = Object.keys(colls);
  set(charts.cache, cn, cn.map((k) => colls[k].embed_cache_hits || 0),
    cn.map((k) => Math.max(0, (colls[k].embed_cache_lookups || 0) - (colls[k].embed_cache_hits || 0))));
  const bes = backendsOf(colls);
  const month = (b) => b.month || {};
  set(charts.backends, bes.map((b) => b.name), bes.map((b) => b.requests || 0), bes.map((b) => b.error_count || 0),
    bes.map((b) => b.fallbacks || 0));
  set(charts.cost, bes.map((b) => b.name), bes.map((b) => month(b).cost_usd ?? b.cost_usd ?? 0), bes.map((b) => b.budget_usd || 0));

  const total = pts.reduce((n, x) => n + (x.requests || 0), 0);
  const refused = pts.reduce((n, x) => n + (x.refusals || 0), 0);
  const errors = pts.reduce((n, x) => n + (x.errors || 0), 0);
  const last = [...pts].reverse().find((x) => x.requests);
  const lookups = cn.reduce((n, k) => n + (colls[k].embed_cache_lookups || 0), 0);
  const hits = cn.reduce((n, k) => n + (colls[k].embed_cache_hits || 0), 0);
  const cost = bes.reduce((n, b) => n + (month(b).cost_usd ?? b.cost_usd ?? 0), 0);
  const docs = cn.reduce((n, k) => n + (colls[k].documents || 0), 0);
  const chunks = cn.reduce((n, k) => n + (colls[k].chunks || 0), 0);
  clear($('#tiles')).append(
    tile('requests (last hour)', String(total), errors ? `${errors} errors` : 'no errors'),
    tile('latency p50 / p95', last ? `${fmtMs(last.p50_ms)} / ${fmtMs(last.p95_ms)}` : '–', last ? `at ${clock(last.t)}` : 'no requests yet'),
    tile('refusal rate', total ? `${((100 * refused) / total).toFixed(0)}%` : '–', `${refused} refused`),
    tile('embedding cache hit rate', lookups ? `${((100 * hits) / lookups).toFixed(0)}%` : '–', `${lookups} lookups`),
    tile('cost this month', `$${cost.toFixed(4)}`, bes.length ? `${bes.length} back-end${bes.length > 1 ? 's' : ''}` : 'no remote back-end'),
    tile('index', `${docs} docs`, `${chunks} chunks`));

  const tbody = clear($('#backends-table tbody'));
  if (!bes.length) {
    tbody.append(h('tr', h('td.muted', { colspan: '10' }, 'No remote back-end is configured: answers are extractive (sentences from the passages).')));
  }
  for (const b of bes) {
    const m = month(b);
    const lat = b.latency_ms || {};
    tbody.append(h('tr',
      h('th', { scope: 'row' }, b.name),
      h('td.num', String(b.requests || 0)),
      h('td.num', String(b.error_count || 0)),
      h('td.num', String(b.retries || 0)),
      h('td.num', String(b.fallbacks || 0)),
      h('td.num', fmtMs(lat.p50)),
      h('td.num', fmtMs(lat.p95)),
      h('td.num', `${b.tokens_in || 0} / ${b.tokens_out || 0}`),
      h('td.num', `$${(m.cost_usd ?? b.cost_usd ?? 0).toFixed(4)}${b.budget_usd ? ` / $${b.budget_usd}` : ''}`),
      h('td', h('span.badge', { class: b.allowed === false ? 'st-failed' : 'st-indexed' },
        b.allowed === false ? 'skipped (budget or breaker open)' : 'in use'))));
  }
  $('#analytics-note').textContent = `Kept in the server's memory: ${ts.interval_s || 10} s points over the last hour` +
    ` · updated ${new Date().toLocaleTimeString()} · Prometheus: /metrics`;
}

async function refresh() {
  try {
    const o = await getJSON('/v1/analytics');
    if (!charts) charts = makeCharts(await loadChartJs());
    render(o);
    $('#view-analytics').dataset.rendered = String(Date.now());
  } catch (e) {
    $('#analytics-note').textContent = `Cannot load the analytics: ${e.message}`;
  }
}

export function showAnalytics(visible) {
  clearInterval(timer);
  timer = 0;
  if (!visible) return;
  refresh();
  timer = setInterval(refresh, 10000);
}
