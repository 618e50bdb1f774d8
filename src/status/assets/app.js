// vidq dashboard: polls the status server's JSON API and draws what it gets. No framework,
// no external resources. Every value from the database (batch names, prompts, error
// messages) goes through textContent, never innerHTML: it is user text.
'use strict';

const FAST_MS = 3000;   // counts, slots, failures
const SLOW_MS = 15000;  // timeline and gallery
const $ = (id) => document.getElementById(id);
let selectedBatch = null;
let knownBatches = [];

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'title' || k === 'type') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok && res.status !== 503) throw new Error(body.reason || res.statusText);
  return { status: res.status, body };
}

const fmt = (n) => Number(n).toLocaleString('en-US');
const pct = (part, total) => (total > 0 ? (100 * part) / total : 0);

function bar(segments, total) {
  const b = el('div', { class: 'bar' });
  for (const [cls, n] of segments) {
    if (!n) continue;
    const s = el('span', { class: cls, title: `${cls}: ${n}` });
    s.style.width = `${pct(n, total)}%`;  // CSSOM, allowed by the CSP (style attributes are not)
    b.append(s);
  }
  return b;
}

function renderBatches(data) {
  const t = data.totals;
  const running = t.submitting + t.processing + t.downloading;
  const all = t.queued + running + t.succeeded + t.failed + t.cancelled;
  $('t-total').textContent = fmt(all);
  $('t-queued').textContent = fmt(t.queued);
  $('t-running').textContent = fmt(running);
  $('t-succeeded').textContent = fmt(t.succeeded);
  $('t-failed').textContent = fmt(t.failed);
  $('t-cancelled').textContent = fmt(t.cancelled);
  const rows = data.batches.map((b) => el('tr', { 'data-batch': b.batch },
    el('td', { class: 'name' }, b.batch),
    el('td', {}, bar([['ok', b.succeeded], ['bad', b.failed], ['cancel', b.cancelled], ['run', b.running]], b.total)),
    el('td', { class: 'num', 'data-field': 'done' }, `${fmt(b.done)} / ${fmt(b.total)} (${b.pct_done}%)`),
    el('td', { class: 'num', 'data-field': 'queued' }, fmt(b.queued)),
    el('td', { class: 'num', 'data-field': 'running' }, fmt(b.running)),
    el('td', { class: 'num', 'data-field': 'failed' }, fmt(b.failed)),
    el('td', { class: 'num', 'data-field': 'spent' }, b.spent_cny.toFixed(2)),
    el('td', { 'data-field': 'manifest' },
      el('a', { href: `/api/batches/${encodeURIComponent(b.batch)}/manifest?format=csv&bom=1`, download: '' }, 'CSV'), ' ',
      el('a', { href: `/api/batches/${encodeURIComponent(b.batch)}/manifest?format=jsonl`, download: '' }, 'JSONL'))));
  $('batches').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { class: 'empty', colSpan: 8 }, 'No jobs yet.'))]));
  const names = data.batches.map((b) => b.batch);
  if (names.join('\n') !== knownBatches.join('\n')) {
    knownBatches = names;
    renderTabs();
  }
}

function renderAccounts(data) {
  const rows = data.lanes.map((l) => {
    const cap = Math.max(l.effective_cap, 1);
    const full = l.in_flight >= l.effective_cap;
    return el('tr', { 'data-lane': `${l.account}/${l.model}` },
      el('td', {}, `${l.account} / ${l.model}`),
      el('td', {}, bar([[full ? 'full' : 'run', Math.min(l.in_flight, cap)]], cap),
        el('span', { class: 'muted', 'data-field': 'inflight' }, `${l.in_flight} / ${l.effective_cap}`)),
      el('td', { class: 'num' }, String(l.configured_cap)));
  });
  $('lanes').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { class: 'empty', colSpan: 3 }, 'Nothing in flight.'))]));
  $('accounts').replaceChildren(...data.accounts.map((a) => el('li', { 'data-account': a.name },
    el('b', {}, a.name), ` (${a.provider}) `,
    a.breaker_open
      ? el('span', { class: 'paused' }, `unreachable, probing (${a.failed_probes} failed): ${a.reason}`)
      : a.paused ? el('span', { class: 'paused' }, `paused: ${a.reason || 'no reason given'}`) : el('span', { class: 'muted' }, 'active'))));
  const notes = [];
  if (data.draining) notes.push('draining: no new submits');
  if (data.budget_block) notes.push(`budget: ${data.budget_block}`);
  if (data.disk && data.disk.reason) notes.push(`disk: ${data.disk.reason}`);
  if (data.db_locked_since) notes.push('database locked by another connection: writes wait');
  $('notice').hidden = notes.length === 0;
  $('notice').textContent = notes.join(' · ');
}

function renderHealth(res) {
  const ok = res.status === 200;
  const degraded = ok && res.body.status === 'degraded';
  $('health').textContent = degraded ? `degraded: ${res.body.reason}` : ok ? 'healthy' : `unhealthy: ${res.body.reason || res.status}`;
  $('health').className = `badge ${degraded ? 'warn' : ok ? 'ok' : 'bad'}`;
}

function renderFailures(data) {
  const rows = data.failures.map((f) => el('tr', { 'data-job': String(f.id) },
    el('td', {}, `#${f.id}`), el('td', { class: 'key' }, f.key || ''), el('td', {}, f.batch), el('td', {}, f.model),
    el('td', {}, f.error_code), el('td', { class: 'reason' }, f.error_message), el('td', {}, f.failed_at)));
  $('failures').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { class: 'empty', colSpan: 7 }, 'No failures.'))]));
}

function drawChart(svg, values, cls) {
  const NS = 'http://www.w3.org/2000/svg';
  const max = Math.max(1, ...values);
  const w = 600 / values.length;
  svg.replaceChildren();
  values.forEach((v, i) => {
    if (!v) return;
    const h = (v / max) * 76;
    const r = document.createElementNS(NS, 'rect');
    r.setAttribute('class', cls);
    r.setAttribute('x', String(i * w + 0.5));
    r.setAttribute('y', String(86 - h));
    r.setAttribute('width', String(Math.max(w - 1, 1)));
    r.setAttribute('height', String(h));
    const title = document.createElementNS(NS, 'title');
    title.textContent = `${v} in minute ${i - values.length + 1}`;
    r.append(title);
    svg.append(r);
  });
  const label = document.createElementNS(NS, 'text');
  label.setAttribute('x', '4');
  label.setAttribute('y', '11');
  label.textContent = `max ${max}/min · total ${values.reduce((a, b) => a + b, 0)}`;
  svg.append(label);
}

function renderTimeline(data) {
  drawChart($('chart-ok'), data.buckets.map((b) => b.succeeded), 'ok');
  drawChart($('chart-bad'), data.buckets.map((b) => b.failed), 'bad');
}

function renderTabs() {
  if (selectedBatch !== null && !knownBatches.includes(selectedBatch)) selectedBatch = null;
  if (selectedBatch === null && knownBatches.length) selectedBatch = knownBatches[0];
  $('gallery-tabs').replaceChildren(...knownBatches.map((name) => {
    const b = el('button', { type: 'button', 'aria-selected': String(name === selectedBatch), 'data-batch': name }, name);
    b.addEventListener('click', () => { selectedBatch = name; renderTabs(); loadGallery(); });
    return b;
  }));
}

async function loadGallery() {
  if (selectedBatch === null) return;
  const { body } = await getJson(`/api/gallery?limit=48&batch=${encodeURIComponent(selectedBatch)}`);
  const items = body.items.map((g) => {
    const t = el('button', { type: 'button', class: 'thumb', 'data-job': String(g.id), title: g.prompt },
      g.cover ? el('img', { src: g.cover, alt: `job ${g.id}`, loading: 'lazy' }) : el('span', { class: 'noimg' }, 'no cover'),
      el('span', { class: 'cap' }, `${g.key ? g.key : `#${g.id}`} ${g.prompt}`));
    t.addEventListener('click', () => play(g));
    return t;
  });
  $('gallery').replaceChildren(...(items.length ? items : [el('p', { class: 'empty' }, 'No finished videos in this batch yet.')]));
}

function play(item) {
  const v = $('player-video');
  v.src = item.video;
  $('player-caption').textContent = `#${item.id}${item.key ? ` · ${item.key}` : ''} · ${item.batch} · ${item.prompt}`;
  $('player').hidden = false;
  v.play().catch(() => {});  // autoplay may be refused; the controls are there
}

function closePlayer() {
  const v = $('player-video');
  v.pause();
  v.removeAttribute('src');
  v.load();
  $('player').hidden = true;
}

async function refreshFast() {
  const results = await Promise.allSettled([
    getJson('/api/batches').then((r) => renderBatches(r.body)),
    getJson('/api/accounts').then((r) => renderAccounts(r.body)),
    getJson('/healthz').then(renderHealth),
    getJson('/api/failures?limit=20').then((r) => renderFailures(r.body)),
  ]);
  const failed = results.find((r) => r.status === 'rejected');
  $('updated').textContent = failed ? `update failed: ${failed.reason.message}` : `updated ${new Date().toLocaleTimeString()}`;
}

async function refreshSlow() {
  await Promise.allSettled([getJson('/api/timeline?minutes=60').then((r) => renderTimeline(r.body)), loadGallery()]);
}

function loop(fn, ms) {
  const run = () => fn().finally(() => setTimeout(run, ms));
  run();
}

document.addEventListener('DOMContentLoaded', () => {
  $('player-close').addEventListener('click', closePlayer);
  $('player').addEventListener('click', (e) => { if (e.target === $('player')) closePlayer(); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closePlayer(); });
  // The first gallery load needs the batch names: run the fast refresh first.
  refreshFast().finally(() => {
    document.body.dataset.loaded = 'true';
    setTimeout(() => loop(refreshFast, FAST_MS), FAST_MS);
    loop(refreshSlow, SLOW_MS);
  });
});
