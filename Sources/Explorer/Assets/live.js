// gradlab explorer: the live views (training, phase diagram, your own model).
// Training and the gain sweep run on the server as jobs whose progress streams in as server-sent events
// (docs/EXPLORER-API.md); the page keeps the numbers and redraws its SVG charts at most ten times a second.
// An uploaded model is drawn by the chart views of explorer.js (state.upload, state.sub, state.layer).
// explorer.js's top-level names ($, state, client, buildForm, update, …) are shared with this script.
'use strict';
(() => {
  const SVGNS = 'http://www.w3.org/2000/svg';
  // The server charts' colours: Okabe–Ito as gradlab's Palette orders them.
  const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#000000', '#56B4E9', '#E69F00', '#F0E442'];
  const RUN_COLOR = { A: PALETTE[0], B: PALETTE[1] };
  const TRAIN_CELLS = ['sigmoid', 'tanh', 'relu', 'linear', 'irnn', 'lstm', 'gru', 'leaky'];
  const SWEEP_CELLS = TRAIN_CELLS.concat(['skip']);

  // ---- training options ------------------------------------------------------------------------------
  // key: the command's long option (clip and clip-at are the page's: they become --clip-norm or --clip-value).
  const TRAIN_FIELDS = [
    { key: 'cell', label: 'Cell', kind: 'select', choices: TRAIN_CELLS },
    { key: 'task', label: 'Task', kind: 'select', choices: ['adding', 'copy'] },
    { key: 'steps', label: 'Sequence length T', kind: 'number', min: 2, step: 1 },
    { key: 'hidden', label: 'Hidden size n', kind: 'number', min: 1, step: 1 },
    { key: 'layers', label: 'Layers L', kind: 'number', min: 1, max: 8, step: 1,
      help: 'a stack (layer l reads layer l−1); needs full BPTT' },
    { key: 'iters', label: 'Iterations', kind: 'number', min: 1, step: 1 },
    { key: 'batch', label: 'Batch', kind: 'number', min: 1, step: 1 },
    { key: 'optimizer', label: 'Optimiser', kind: 'select', choices: ['adam', 'sgd'] },
    { key: 'lr', label: 'Learning rate', kind: 'number', min: 0, step: 'any' },
    { key: 'momentum', label: 'Momentum', kind: 'number', min: 0, step: 'any', when: (o) => o.optimizer === 'sgd', help: 'SGD only (default 0.9)' },
    { key: 'clip', label: 'Clipping', kind: 'select', choices: ['none', 'norm', 'value'], labels: ['none', 'by norm', 'by value'] },
    { key: 'clip-at', label: 'Clipping threshold', kind: 'number', min: 0, step: 'any', when: (o) => o.clip !== 'none',
      help: 'norm: rescale g when ‖g‖₂ > c; value: clamp each entry to [−v, v]' },
    { key: 'truncate', label: 'Truncation K', kind: 'number', min: 1, step: 1, placeholder: 'full BPTT', help: 'gradients flow back at most K steps (empty: all)' },
    { key: 'forget-bias', label: 'Forget bias', kind: 'number', step: 'any', when: (o) => o.cell === 'lstm' || o.cell === 'gru' },
    { key: 'copy-length', label: 'Symbols to copy', kind: 'number', min: 1, step: 1, when: (o) => o.task === 'copy' },
    { key: 'symbols', label: 'Alphabet size', kind: 'number', min: 2, step: 1, when: (o) => o.task === 'copy' },
    { key: 'seed', label: 'Seed', kind: 'number', min: 0, step: 1 },
    { key: 'snapshots', label: 'Snapshots of ‖C_ℓ‖', kind: 'number', min: 0, step: 1 },
    { key: 'eval-every', label: 'Held-out loss every', kind: 'number', min: 1, step: 1, help: 'iterations' },
  ];
  // The command's defaults: an option equal to them is not sent (the command line stays short).
  const CLI_DEFAULTS = { batch: '32', optimizer: 'adam', lr: '0.01', seed: '0', 'eval-every': '25', snapshots: '4', 'forget-bias': '1',
    'copy-length': '5', symbols: '8', momentum: '', layers: '1' };
  const ALWAYS = ['cell', 'task', 'steps', 'hidden', 'iters'];
  const BASE = { cell: 'lstm', task: 'adding', steps: '50', hidden: '32', iters: '3000', batch: '32', optimizer: 'adam', lr: '0.01',
    momentum: '', clip: 'norm', 'clip-at': '1', truncate: '', 'forget-bias': '1', 'copy-length': '5', symbols: '8', seed: '0',
    snapshots: '6', 'eval-every': '25', layers: '1' };
  const PRESETS = {
    // Same task and options, only the cell differs: the LSTM learns the adding problem, tanh stays at the baseline.
    cells: { A: { cell: 'lstm' }, B: { cell: 'tanh' }, base: {} },
    // An IRNN on T = 100: without clipping one huge gradient throws it off; clipped at norm 1 it keeps learning.
    clipping: { A: { clip: 'norm', 'clip-at': '1' }, B: { clip: 'none' },
      base: { cell: 'irnn', steps: '100', hidden: '64', iters: '1000' } },
  };

  function preset(name) {
    const p = PRESETS[name];
    for (const slot of ['A', 'B']) runs[slot].opts = Object.assign({}, BASE, p.base, p[slot]);
    buildTrainForm(); renderCards(); writeURL();
  }

  function trainQuery(o) {
    const q = new URLSearchParams();
    for (const f of TRAIN_FIELDS) {
      const k = f.key, v = String(o[k] ?? '').trim();
      if (k === 'clip' || k === 'clip-at') continue;
      if (f.when && !f.when(o)) continue;
      if (v === '') continue;
      if (!ALWAYS.includes(k) && CLI_DEFAULTS[k] === v) continue;
      q.set(k, v);
    }
    if (o.clip === 'norm') q.set('clip-norm', String(o['clip-at']).trim());
    if (o.clip === 'value') q.set('clip-value', String(o['clip-at']).trim());
    return q;
  }

  // The options a run was started with (the form may already hold the next ones).
  const ro = (r) => r.ran || r.opts;
  function runLabel(slot) {
    const o = ro(runs[slot]);
    return slot + ' · ' + o.cell + (o.clip === 'none' ? ', no clipping' : ', clip-' + o.clip + ' ' + o['clip-at']) +
      (o.truncate ? ', K = ' + o.truncate : '');
  }

  // ---- run state ---------------------------------------------------------------------------------------
  function emptyRun(opts) {
    return { opts, job: null, info: null, command: '', es: null, state: 'idle', lastId: -1, iteration: 0, total: Number(opts.iters) || 0,
      seconds: 0, it: [], loss: [], gn: [], gnc: [], evals: [], snaps: [], error: '', errorParam: null, end: null, halfAt: null };
  }
  const runs = { A: emptyRun(Object.assign({}, BASE, { cell: 'lstm' })), B: emptyRun(Object.assign({}, BASE, { cell: 'tanh' })) };
  let editing = 'A';
  const active = (r) => r.state === 'running' || r.state === 'paused' || r.state === 'starting';

  async function post(path) {
    const r = await fetch(path + (path.includes('?') ? '&' : '?') + '_client=' + encodeURIComponent(client), { method: 'POST' });
    const j = await r.json().catch(() => ({ error: 'the server answered ' + r.status }));
    return { ok: r.ok, status: r.status, j };
  }

  async function startRun(slot) {
    const old = runs[slot];
    if (active(old)) return;
    if (old.es) old.es.close();
    const r = emptyRun(Object.assign({}, old.opts));
    runs[slot] = r;
    r.state = 'starting';
    renderCards(); requestDraw();
    let res;
    try { res = await post('/api/jobs/train?' + trainQuery(r.opts).toString()); } catch (e) { res = { ok: false, status: 0, j: { error: 'no answer from the server: ' + e.message } }; }
    if (runs[slot] !== r) return;
    if (!res.ok) {
      r.state = 'idle';
      r.error = (res.status ? res.status + ': ' : '') + res.j.error;
      r.errorParam = res.j.parameter || null;
      if (res.j.parameter) { editing = slot; buildTrainForm(); }
      renderCards(); return;
    }
    r.job = res.j.id; r.info = res.j.info; r.command = res.j.command; r.total = r.info.iterations; r.state = 'running';
    r.ran = Object.assign({}, r.opts);
    listen(slot, r);
    renderCards(); requestDraw();
  }

  function listen(slot, r) {
    const es = new EventSource('/api/jobs/' + encodeURIComponent(r.job) + '/events');
    r.es = es;
    const fresh = (e) => { const id = Number(e.lastEventId); if (id <= r.lastId) return false; r.lastId = id; return runs[slot] === r; };
    es.addEventListener('progress', (e) => {
      if (!fresh(e)) return;
      const d = JSON.parse(e.data);
      for (const [i, loss, ev, g, gc] of d.rows) {
        if (ev !== null && ev !== undefined) {
          r.evals.push([i, ev]);
          if (r.halfAt === null && r.info && ev < r.info.baseline / 2) r.halfAt = d.seconds;
        }
        if (loss === null || loss === undefined) continue;
        r.it.push(i); r.loss.push(loss); r.gn.push(g); r.gnc.push(gc);
      }
      r.iteration = d.iteration; r.total = d.total; r.seconds = d.seconds;
      renderCardNumbers(slot); requestDraw();
    });
    es.addEventListener('snapshot', (e) => {
      if (!fresh(e)) return;
      const d = JSON.parse(e.data);
      r.snaps.push(d);
      requestDraw();
    });
    es.addEventListener('state', (e) => {
      if (!fresh(e)) return;
      r.state = JSON.parse(e.data).state;
      renderCards();
    });
    es.addEventListener('end', (e) => {
      es.close();
      if (!fresh(e)) return;
      const d = JSON.parse(e.data);
      r.end = d; r.state = d.state;
      if (d.iterations !== undefined) r.iteration = d.iterations;
      if (d.seconds !== undefined) r.seconds = d.seconds;
      if (d.message) r.error = d.message;
      renderCards(); requestDraw();
    });
    // EventSource reconnects by itself (with Last-Event-ID); a job the server no longer knows is closed for good.
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED && runs[slot] === r && active(r)) {
        r.state = 'lost'; r.error = 'the server closed the event stream'; renderCards();
      }
    };
  }

  async function control(slot, action) {
    const r = runs[slot];
    if (!r.job) return;
    const res = await post('/api/jobs/' + encodeURIComponent(r.job) + '/' + action).catch((e) => ({ ok: false, status: 0, j: { error: e.message } }));
    if (!res.ok && runs[slot] === r && active(r)) { r.error = (res.status ? res.status + ': ' : '') + res.j.error; renderCards(); }
  }

  // ---- training: controls ------------------------------------------------------------------------------
  function buildTrainForm() {
    const form = $('train-form');
    form.replaceChildren();
    form.onsubmit = (e) => e.preventDefault();
    document.querySelectorAll('.runpick button').forEach((b) => b.setAttribute('aria-selected', b.dataset.run === editing ? 'true' : 'false'));
    const r = runs[editing];
    const o = r.opts;
    if (active(r)) {
      const note = document.createElement('div');
      note.className = 'hint note';
      note.textContent = 'Run ' + editing + ' is running: changes apply when you start it again.';
      form.append(note);
    }
    for (const f of TRAIN_FIELDS) {
      if (f.when && !f.when(o)) continue;
      const row = document.createElement('div');
      row.className = 'control';
      row.dataset.param = f.key;
      if (r.errorParam && (r.errorParam === f.key || (f.key === 'clip-at' && /^clip-/.test(r.errorParam)))) row.classList.add('invalid');
      const label = document.createElement('label');
      label.textContent = f.label; label.htmlFor = 't-' + f.key;
      row.append(label);
      let inp;
      if (f.kind === 'select') {
        inp = document.createElement('select');
        f.choices.forEach((c, i) => { const op = document.createElement('option'); op.value = c; op.textContent = f.labels ? f.labels[i] : c; inp.append(op); });
      } else {
        inp = document.createElement('input');
        inp.type = 'number';
        if (f.min !== undefined) inp.min = f.min;
        inp.step = f.step;
        if (f.placeholder) inp.placeholder = f.placeholder;
      }
      inp.id = 't-' + f.key; inp.name = f.key;
      inp.value = o[f.key] ?? '';
      inp.addEventListener('change', () => {
        o[f.key] = inp.value.trim();
        if (r.errorParam) { r.errorParam = null; r.error = ''; }
        if (f.key === 'iters' && !active(r) && !r.job) r.total = Number(inp.value) || 0;
        if (f.kind === 'select') buildTrainForm();
        renderCards(); writeURL();
      });
      row.append(inp);
      if (f.help) { const h = document.createElement('div'); h.className = 'hint'; h.textContent = f.help; row.append(h); }
      form.append(row);
    }
  }

  // ---- training: the two run cards ----------------------------------------------------------------------
  function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }

  function buildCards() {
    const box = $('runs');
    box.replaceChildren();
    for (const slot of ['A', 'B']) {
      const card = el('div', 'run');
      card.dataset.run = slot;
      card.id = 'run-' + slot;
      const head = el('div', 'runhead');
      const sw = el('span', 'swatch ' + slot.toLowerCase());
      const title = el('span', 'runtitle');
      const badge = el('span', 'badge');
      const btns = el('span', 'btns');
      const start = el('button', 'primary', 'Start'); start.type = 'button'; start.dataset.action = 'start';
      const pause = el('button', '', 'Pause'); pause.type = 'button'; pause.dataset.action = 'pause';
      const stop = el('button', '', 'Stop'); stop.type = 'button'; stop.dataset.action = 'stop';
      start.addEventListener('click', () => startRun(slot));
      pause.addEventListener('click', () => control(slot, runs[slot].state === 'paused' ? 'resume' : 'pause'));
      stop.addEventListener('click', () => control(slot, 'stop'));
      btns.append(start, pause, stop);
      head.append(sw, title, badge, btns);
      const prog = el('div', 'progress');
      const bar = el('div', 'bar'); bar.append(el('div'));
      prog.append(bar, el('span', 'count'));
      const nums = el('div', 'nums');
      const err = el('div', 'error'); err.hidden = true; err.setAttribute('role', 'alert');
      const cmd = el('pre', 'command');
      const more = el('details', 'files');
      more.append(el('summary', '', 'Files of this run (what the command writes)'), el('div', 'downloads'));
      more.hidden = true;
      card.append(head, prog, nums, err, cmd, more);
      card.addEventListener('click', (e) => { if (!e.target.closest('button') && editing !== slot) { editing = slot; buildTrainForm(); } });
      box.append(card);
    }
  }

  const fmtNum = (v, p = 3) => (v === null || v === undefined || !isFinite(v) ? '—' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : Number(v.toPrecision(p)).toString());

  function renderCards() {
    for (const slot of ['A', 'B']) {
      const r = runs[slot];
      const card = $('run-' + slot);
      if (!card) continue;
      card.dataset.state = r.state;
      card.dataset.job = r.job || '';
      card.classList.toggle('editing', editing === slot);
      card.querySelector('.runtitle').textContent = runLabel(slot);
      card.querySelector('.runtitle').title = r.info ? r.info.summary : '';
      const stateText = { starting: 'starting…', idle: r.job ? '' : 'not started', running: 'running', paused: 'paused', done: 'done', stopped: 'stopped',
        failed: 'failed', expired: 'expired (time limit)', lost: 'lost' }[r.state] ?? r.state;
      const badge = card.querySelector('.badge');
      badge.textContent = stateText; badge.dataset.state = r.state; badge.hidden = !stateText;
      const [start, pause, stop] = card.querySelectorAll('.btns button');
      start.disabled = active(r);
      start.textContent = r.job && !active(r) ? 'Start again' : 'Start';
      pause.disabled = !(r.state === 'running' || r.state === 'paused');
      pause.textContent = r.state === 'paused' ? 'Resume' : 'Pause';
      stop.disabled = !(r.state === 'running' || r.state === 'paused');
      const err = card.querySelector('.error');
      err.textContent = r.error; err.hidden = !r.error;
      card.querySelector('.command').textContent = r.command || 'gradlab train ' + trainQuery(r.opts).toString().split('&').map((kv) => {
        const [k, v] = kv.split('='); return '--' + decodeURIComponent(k) + ' ' + decodeURIComponent(v);
      }).join(' ');
      card.querySelector('.command').classList.toggle('pending', !r.command);
      card.querySelector('.command').title = r.command ? 'the same run from the command line (the server wrote this)' : 'what Start will run';
      const files = card.querySelector('.downloads');
      files.replaceChildren();
      card.querySelector('details.files').hidden = !(r.end && r.end.files && r.end.files.length);
      if (r.end && r.end.files) {
        for (const f of r.end.files) {
          const a = el('a', '', f);
          a.href = '/api/jobs/' + encodeURIComponent(r.job) + '/files/' + encodeURIComponent(f);
          a.download = slot + '-' + f.replace(/[^A-Za-z0-9.-]/g, '-');
          files.append(a);
        }
      }
      renderCardNumbers(slot);
    }
    $('train-stop-all').disabled = !['A', 'B'].some((s) => runs[s].state === 'running' || runs[s].state === 'paused');
    $('train-start-both').disabled = ['A', 'B'].every((s) => active(runs[s]));
  }

  function renderCardNumbers(slot) {
    const r = runs[slot];
    const card = $('run-' + slot);
    if (!card) return;
    const last = r.evals.length ? r.evals[r.evals.length - 1] : null;
    card.dataset.iteration = String(r.iteration);
    card.dataset.total = String(r.total);
    card.dataset.evalLoss = last ? String(last[1]) : '';
    card.dataset.evalIteration = last ? String(last[0]) : '';
    card.dataset.baseline = r.info ? String(r.info.baseline) : '';
    card.dataset.halfAt = r.halfAt === null ? '' : String(r.halfAt);
    card.querySelector('.bar > div').style.width = (r.total ? Math.min(100, 100 * r.iteration / r.total) : 0) + '%';
    card.querySelector('.count').textContent = r.iteration + ' / ' + r.total + (r.seconds ? ' · ' + r.seconds.toFixed(1) + ' s' : '');
    const nums = card.querySelector('.nums');
    nums.replaceChildren();
    if (!r.info) return;
    const loss = r.info.loss === 'mse' ? 'MSE' : 'cross-entropy';
    const n = r.it.length;
    const parts = [['held-out ' + loss, last ? fmtNum(last[1]) : '—', last && r.info.baseline ? '(' + fmtNum(last[1] / r.info.baseline, 2) + ' × baseline)' : ''],
      ['‖g‖', n ? fmtNum(r.gn[n - 1]) + (r.info.clipping !== 'none' ? ' → ' + fmtNum(r.gnc[n - 1]) : '') : '—', '']];
    for (const [k, v, extra] of parts) {
      const s = el('span', 'num');
      s.append(el('span', 'k', k + ' '), el('b', '', v), document.createTextNode(extra ? ' ' + extra : ''));
      nums.append(s);
    }
    const target = r.end && r.end.target_reached !== null && r.end.target_reached !== undefined ? 'target reached at iteration ' + r.end.target_reached : '';
    const diverged = r.end && r.end.diverged_at !== null && r.end.diverged_at !== undefined ? 'diverged at iteration ' + r.end.diverged_at : '';
    if (target || diverged) nums.append(el('span', 'num note', [target, diverged].filter(Boolean).join(' · ')));
  }

  // ---- SVG charts ----------------------------------------------------------------------------------------
  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const minus = (s) => String(s).replace(/-/g, '−');
  // Text with sub- and superscripts written _{…} and ^{…} (as the server charts set them).
  function rich(tag, attrs, s) {
    const e = svgEl(tag, attrs);
    const parts = String(s).split(/([_^]\{[^}]*\})/);
    let shift = 0;
    for (const p of parts) {
      if (!p) continue;
      const m = /^([_^])\{([^}]*)\}$/.exec(p);
      const want = m ? (m[1] === '_' ? 0.3 : -0.45) : 0;
      const t = svgEl('tspan', { dy: want - shift ? (want - shift) + 'em' : undefined, 'font-size': m ? '72%' : undefined }, m ? m[2] : p);
      // dy is relative to the tspan's own font size: scale the shift back for the small ones.
      if (m) t.setAttribute('dy', ((want - shift) / 0.72).toFixed(3) + 'em');
      else if (shift) t.setAttribute('dy', (-shift).toFixed(3) + 'em');
      shift = want;
      e.append(t);
    }
    return e;
  }
  const plain = (s) => String(s).replace(/[_^]\{([^}]*)\}/g, '$1');
  const textWidth = (s, fs) => plain(s).length * fs * 0.6;

  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const m = raw / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
  }
  function decimals(step) { return Math.max(0, -Math.floor(Math.log10(step) + 1e-9)); }

  // One chart into an <svg>, sized to the element (CSS pixels; presentation mode uses larger type).
  // o: title, xLabel, yLabel, x [lo, hi], ylog, y [lo, hi] (optional), series [{pts, color, w, dash, op, markers}],
  // bands [{pts: [[x, lo, hi]], color, op}], dots [{x, y, color, r, op, cls, shape}], hlines/vlines [{at, label, color, dash}],
  // notes [{text, where: 'top'|'bottom', color}], legend [{label, color, w, dash, marker, op}], empty (text without data).
  function drawChart(svg, o) {
    const W = Math.max(200, svg.clientWidth), H = Math.max(150, svg.clientHeight);
    const fs = document.body.classList.contains('present') ? 17 : 13;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.replaceChildren();
    svg.style.setProperty('--fs', fs + 'px');
    const g = (cls) => svgEl('g', { class: cls });
    // Legend rows above the plot.
    const legendItems = (o.legend || []).map((it) => ({ it, w: 34 + textWidth(it.label, fs * 0.92) + fs * 1.2 }));
    const left = fs * 1.9 + (o.tickChars || 4) * fs * 0.62 + 10, right = fs * 1.4;
    const pw0 = W - left - right;
    const rows = [];
    let row = [], used = 0;
    for (const li of legendItems) {
      if (row.length && used + li.w > pw0) { rows.push(row); row = []; used = 0; }
      row.push(li); used += li.w;
    }
    if (row.length) rows.push(row);
    const titleH = o.title ? fs * 2.0 : fs * 0.6;
    const top = titleH + rows.length * fs * 1.55 + fs * 0.5;
    const bottom = fs * 3.3;
    const pw = W - left - right, ph = Math.max(40, H - top - bottom);
    if (o.title) {
      // The title shrinks to fit the chart's width (measured, not guessed).
      const t = rich('text', { x: W / 2, y: fs * 1.35, class: 'ctitle', 'text-anchor': 'middle', 'font-size': fs * 1.15 }, o.title);
      svg.append(t);
      const len = t.getComputedTextLength ? t.getComputedTextLength() : 0;
      if (len > W - fs) t.setAttribute('font-size', (fs * 1.15 * (W - fs) / len).toFixed(1));
    }
    rows.forEach((r, ri) => {
      let x = left;
      const y = titleH + ri * fs * 1.55 + fs * 0.8;
      for (const { it, w } of r) {
        const lg = g('legend');
        lg.append(svgEl('line', { x1: x, x2: x + 26, y1: y, y2: y, stroke: it.color, 'stroke-width': it.w ?? 2, 'stroke-dasharray': it.dash, opacity: it.op }));
        if (it.marker) lg.append(svgEl('circle', { cx: x + 13, cy: y, r: fs * 0.28, fill: it.color, stroke: '#fff', 'stroke-width': 1 }));
        if (it.band) lg.append(svgEl('rect', { x, y: y - fs * 0.4, width: 26, height: fs * 0.8, fill: it.color, opacity: 0.2 }));
        lg.append(rich('text', { x: x + 32, y: y + fs * 0.34, 'font-size': fs * 0.92 }, it.label));
        svg.append(lg);
        x += w;
      }
    });
    // Domains.
    let [x0, x1] = o.x;
    if (!(x1 > x0)) x1 = x0 + 1;
    const ys = [];
    for (const s of o.series || []) for (const p of s.pts) if (p[1] !== null && isFinite(p[1]) && (!o.ylog || p[1] > 0)) ys.push(p[1]);
    for (const b of o.bands || []) for (const p of b.pts) { ys.push(p[1], p[2]); }
    for (const d of o.dots || []) if (d.y !== null && isFinite(d.y)) ys.push(d.y);
    for (const h of o.hlines || []) if (h.fit !== false) ys.push(h.at);
    let y0, y1;
    if (o.ylog) {
      const ls = ys.filter((v) => v > 0).map(Math.log10);
      if (!ls.length) { y0 = -3; y1 = 0; } else {
        // A little room around the data; whole decades when that would leave fewer than two 10^k ticks.
        const a = Math.min(...ls), b = Math.max(...ls), pad = Math.max(0.08, 0.04 * (b - a));
        y0 = a - pad; y1 = b + pad;
        if (Math.floor(y1) - Math.ceil(y0) < 1) { y0 = Math.floor(a - 0.02); y1 = Math.ceil(b + 0.02); if (y1 - y0 < 1) y1 = y0 + 1; }
      }
    } else if (o.y) { [y0, y1] = o.y; if (ys.length) { y0 = Math.min(y0, ...ys); y1 = Math.max(y1, ...ys); } const pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad; }
    else { y0 = Math.min(...ys, 0); y1 = Math.max(...ys, 1); }
    const X = (v) => left + (v - x0) / (x1 - x0) * pw;
    const Y = (v) => { const t = o.ylog ? Math.log10(v) : v; return top + (1 - (t - y0) / (y1 - y0)) * ph; };
    // Grid and ticks.
    const grid = g('grid'), ticks = g('ticks');
    const xs = niceStep(x1 - x0, Math.max(2, Math.floor(pw / (fs * 7))));
    for (let v = Math.ceil(x0 / xs - 1e-9) * xs; v <= x1 + xs * 1e-9; v += xs) {
      const px = X(v);
      grid.append(svgEl('line', { x1: px, x2: px, y1: top, y2: top + ph, class: 'major' }));
      ticks.append(svgEl('line', { x1: px, x2: px, y1: top + ph, y2: top + ph + 5 }));
      ticks.append(svgEl('text', { x: px, y: top + ph + fs * 1.35, 'text-anchor': 'middle', 'font-size': fs }, minus(v.toFixed(decimals(xs)))));
    }
    if (o.ylog) {
      const span = y1 - y0;
      const want = Math.max(1, span / Math.max(2, Math.floor(ph / (fs * 2.4))));
      const every = [1, 2, 3, 5, 10, 20, 25, 50, 100].find((e) => e >= want) || 100;
      for (let k = Math.floor(y0); k <= Math.ceil(y1); k++) {
        if (span <= 6) for (let m = 2; m <= 9; m++) { const v = Math.log10(m) + k; if (v > y0 && v < y1) grid.append(svgEl('line', { x1: left, x2: left + pw, y1: Y(m * Math.pow(10, k)), y2: Y(m * Math.pow(10, k)), class: 'minor' })); }
        if (k < y0 - 1e-9 || k > y1 + 1e-9 || k % every) continue;
        const py = Y(Math.pow(10, k));
        grid.append(svgEl('line', { x1: left, x2: left + pw, y1: py, y2: py, class: 'major' }));
        ticks.append(svgEl('line', { x1: left - 5, x2: left, y1: py, y2: py }));
        const t = svgEl('text', { x: left - 8, y: py + fs * 0.35, 'text-anchor': 'end', 'font-size': fs }, '10');
        t.append(svgEl('tspan', { dy: -fs * 0.45, 'font-size': fs * 0.75 }, minus(k)));
        ticks.append(t);
      }
    } else {
      const ysStep = niceStep(y1 - y0, Math.max(2, Math.floor(ph / (fs * 3))));
      for (let v = Math.ceil(y0 / ysStep - 1e-9) * ysStep; v <= y1 + ysStep * 1e-9; v += ysStep) {
        const py = Y(v);
        grid.append(svgEl('line', { x1: left, x2: left + pw, y1: py, y2: py, class: 'major' }));
        ticks.append(svgEl('line', { x1: left - 5, x2: left, y1: py, y2: py }));
        const txt = Math.abs(v) < ysStep * 1e-6 ? '0' : minus(v.toFixed(decimals(ysStep)));
        ticks.append(svgEl('text', { x: left - 8, y: py + fs * 0.35, 'text-anchor': 'end', 'font-size': fs }, txt));
      }
    }
    svg.append(grid);
    // Axis titles.
    if (o.xLabel) svg.append(rich('text', { x: left + pw / 2, y: H - fs * 0.55, 'text-anchor': 'middle', class: 'axis', 'font-size': fs }, o.xLabel));
    if (o.yLabel) svg.append(rich('text', { x: 0, y: 0, transform: 'translate(' + fs * 1.05 + ',' + (top + ph / 2) + ') rotate(-90)', 'text-anchor': 'middle', class: 'axis', 'font-size': fs }, o.yLabel));
    // Data, clipped to the plot.
    const cid = 'clip-' + svg.id;
    const defs = svgEl('defs');
    const cp = svgEl('clipPath', { id: cid });
    cp.append(svgEl('rect', { x: left, y: top, width: pw, height: ph }));
    defs.append(cp);
    svg.append(defs);
    const data = svgEl('g', { 'clip-path': 'url(#' + cid + ')' });
    for (const b of o.bands || []) {
      if (!b.pts.length) continue;
      const up = b.pts.map((p) => X(p[0]).toFixed(1) + ',' + Y(p[2]).toFixed(1));
      const dn = b.pts.slice().reverse().map((p) => X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1));
      if (b.pts.length === 1) { const p = b.pts[0]; data.append(svgEl('line', { x1: X(p[0]), x2: X(p[0]), y1: Y(p[1]), y2: Y(p[2]), stroke: b.color, 'stroke-width': 6, opacity: b.op ?? 0.2 })); continue; }
      data.append(svgEl('polygon', { points: up.concat(dn).join(' '), fill: b.color, opacity: b.op ?? 0.2, stroke: 'none' }));
    }
    for (const h of o.hlines || []) {
      const py = Y(h.at);
      data.append(svgEl('line', { x1: left, x2: left + pw, y1: py, y2: py, stroke: h.color || '#444', 'stroke-width': h.w || 1.4, 'stroke-dasharray': h.dash || '6 4' }));
    }
    for (const v of o.vlines || []) {
      const px = X(v.at);
      data.append(svgEl('line', { x1: px, x2: px, y1: top, y2: top + ph, stroke: v.color || '#444', 'stroke-width': 1.4, 'stroke-dasharray': v.dash || '6 4' }));
    }
    for (const s of o.series || []) {
      let d = '', pen = false;
      const pts = s.pts;
      for (const p of pts) {
        const ok = p[1] !== null && isFinite(p[1]) && (!o.ylog || p[1] > 0);
        if (!ok) { pen = false; continue; }
        d += (pen ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1);
        pen = true;
      }
      if (d) data.append(svgEl('path', { d, fill: 'none', stroke: s.color, 'stroke-width': s.w || 2, 'stroke-dasharray': s.dash, opacity: s.op, 'stroke-linejoin': 'round', class: s.cls }));
      if (s.markers) for (const p of pts) if (p[1] > 0 || (!o.ylog && p[1] !== null)) data.append(svgEl('circle', { cx: X(p[0]), cy: Y(p[1]), r: fs * 0.27, fill: s.color, stroke: '#fff', 'stroke-width': 1 }));
    }
    const r0 = fs * 0.26;
    for (const d of o.dots || []) {
      const px = X(d.x);
      if (d.shape === 'down' || d.shape === 'up') {
        const py = d.shape === 'down' ? top + ph - r0 * 1.6 : top + r0 * 1.6, s = r0 * 1.4, k = d.shape === 'down' ? 1 : -1;
        data.append(svgEl('polygon', { points: `${px - s},${py - k * s} ${px + s},${py - k * s} ${px},${py + k * s}`, fill: d.color, opacity: d.op ?? 0.6, class: d.cls }));
      } else data.append(svgEl('circle', { cx: px, cy: Y(d.y), r: d.r || r0, fill: d.color, opacity: d.op ?? 0.55, class: d.cls }));
    }
    svg.append(data);
    // Labels of reference lines, inside the plot on the right (left for vertical ones), on a white halo.
    for (const h of o.hlines || []) {
      if (!h.label) continue;
      const py = Y(h.at);
      if (py < top || py > top + ph) continue;
      const below = (h.below ?? false) ? py + fs * 1.3 < top + ph : py - fs * 1.4 < top;
      svg.append(rich('text', { x: h.anchor === 'start' ? left + 8 : left + pw - 8, y: below ? py + fs * 1.15 : py - fs * 0.4, 'text-anchor': h.anchor || 'end', class: 'reflabel', fill: h.color || '#444', 'font-size': fs * 0.92 }, h.label));
    }
    for (const v of o.vlines || []) {
      if (!v.label) continue;
      svg.append(svgEl('text', { x: X(v.at) + 6, y: top + fs * 1.2, class: 'reflabel', fill: v.color || '#444', 'font-size': fs * 0.92 }, v.label));
    }
    for (const n of o.notes || []) {
      svg.append(rich('text', { x: left + fs, y: n.where === 'bottom' ? top + ph - fs * 0.9 : top + fs * 1.6, class: 'note reflabel', fill: n.color, 'font-size': fs * 1.02, 'font-weight': 700 }, n.text));
    }
    svg.append(ticks);
    svg.append(svgEl('rect', { x: left, y: top, width: pw, height: ph, class: 'frame' }));
    if (o.empty) svg.append(svgEl('text', { x: left + pw / 2, y: top + ph / 2, 'text-anchor': 'middle', class: 'empty', 'font-size': fs * 1.1 }, o.empty));
  }

  // Moving geometric mean over the trailing `w` values (the server charts' smoothing of noisy batches).
  function movingGeo(xs, ys, w) {
    const out = [];
    let sum = 0, n = 0;
    const logs = ys.map((v) => (v > 0 ? Math.log(v) : null));
    for (let i = 0; i < ys.length; i++) {
      if (logs[i] !== null) { sum += logs[i]; n++; }
      if (i >= w && logs[i - w] !== null) { sum -= logs[i - w]; n--; }
      out.push([xs[i], n ? Math.exp(sum / n) : null]);
    }
    return out;
  }
  // At most ~2 points per pixel column: the min and max of each bucket (keeps the noise's envelope).
  function thin(xs, ys, buckets) {
    if (xs.length <= buckets * 2) return xs.map((x, i) => [x, ys[i]]);
    const out = [], per = xs.length / buckets;
    for (let b = 0; b < buckets; b++) {
      const i0 = Math.floor(b * per), i1 = Math.min(xs.length, Math.floor((b + 1) * per));
      let lo = i0, hi = i0;
      for (let i = i0; i < i1; i++) { if (ys[i] < ys[lo]) lo = i; if (ys[i] > ys[hi]) hi = i; }
      if (lo < hi) out.push([xs[lo], ys[lo]], [xs[hi], ys[hi]]); else out.push([xs[hi], ys[hi]], [xs[lo], ys[lo]]);
    }
    return out;
  }

  function drawTrain() {
    const shown = ['A', 'B'].filter((s) => runs[s].info);
    const maxIt = Math.max(1, ...['A', 'B'].map((s) => (runs[s].info ? runs[s].total : 0)));
    const losses = [...new Set(shown.map((s) => runs[s].info.loss))];
    const runLegend = shown.map((s) => ({ label: runLabel(s), color: RUN_COLOR[s], w: 3 }));
    const cellOf = (s) => ro(runs[s]).cell;
    const empty = shown.length ? undefined : 'Choose a preset or set the options, then Start';
    const buckets = Math.max(100, Math.floor($('chart-loss').clientWidth / 2));
    // Loss.
    const series = [], hlines = [];
    const baselines = new Map();
    for (const s of shown) {
      const r = runs[s];
      series.push({ pts: thin(r.it, r.loss, buckets), color: RUN_COLOR[s], w: 1, op: 0.18 });
      series.push({ pts: movingGeo(r.it, r.loss, 25), color: RUN_COLOR[s], w: 1.3, op: 0.85 });
      series.push({ pts: r.evals, color: RUN_COLOR[s], w: 3, markers: r.evals.length <= 60 });
      const key = r.info.baseline_label;
      if (!baselines.has(key)) baselines.set(key, { at: r.info.baseline, label: key, color: '#333', dash: '7 4', w: 1.6, slots: [s] });
      else baselines.get(key).slots.push(s);
    }
    for (const b of baselines.values()) hlines.push(Object.assign(b, { label: (baselines.size > 1 ? b.slots.join(', ') + ': ' : '') + b.label }));
    const targets = new Set(shown.map((s) => runs[s].info.target).filter((t) => t));
    for (const t of targets) hlines.push({ at: t, label: 'target ' + fmtNum(t), color: PALETTE[2], dash: '2 3', w: 1.4, below: true });
    const lossName = losses.length === 1 ? (losses[0] === 'mse' ? 'MSE' : 'cross-entropy') : 'loss';
    const tasks = [...new Set(shown.map((s) => runs[s].info.task + ' problem, T = ' + runs[s].info.steps))];
    drawChart($('chart-loss'), {
      title: 'Loss during training' + (tasks.length === 1 ? ': the ' + tasks[0] : ''),
      xLabel: 'iteration', yLabel: lossName + ' (log scale)', x: [0, maxIt], ylog: true, series, hlines, empty,
      legend: runLegend.concat(shown.length ? [{ label: 'held-out batch', color: '#555', w: 3, marker: true },
        { label: 'training batches (moving geometric mean)', color: '#555', w: 1.3 }] : []),
    });
    // Gradient norm.
    const gs = [], gh = [];
    let anyClip = false;
    for (const s of shown) {
      const r = runs[s];
      gs.push({ pts: thin(r.it, r.gn, buckets), color: RUN_COLOR[s], w: 1, op: 0.18 });
      gs.push({ pts: movingGeo(r.it, r.gn, 25), color: RUN_COLOR[s], w: 2 });
      if (r.info.clipping !== 'none') {
        anyClip = true;
        gs.push({ pts: movingGeo(r.it, r.gnc, 25), color: RUN_COLOR[s], w: 2, dash: '7 4' });
        if (ro(r).clip === 'norm' && Number(ro(r)['clip-at']) > 0) gh.push({ at: Number(ro(r)['clip-at']), label: s + ': clip-norm ' + ro(r)['clip-at'], color: RUN_COLOR[s], dash: '2 3', w: 1.4, below: s === 'B' });
      }
    }
    drawChart($('chart-grad'), {
      title: 'Gradient norm ‖g‖_{2}, before and after clipping', xLabel: 'iteration', yLabel: '‖g‖_{2} (log scale)', x: [0, maxIt], ylog: true, series: gs, hlines: gh, empty,
      legend: shown.map((s) => ({ label: s + ' · ' + cellOf(s), color: RUN_COLOR[s], w: 3 })).concat(shown.length ? [{ label: 'before clipping', color: '#555', w: 2 }]
        .concat(anyClip ? [{ label: 'after', color: '#555', w: 2, dash: '7 4' }] : []) : []),
    });
    // Per-lag contributions: every snapshot, the latest boldest.
    const cs = [], cv = [];
    let maxLag = 1;
    const snapLegend = [];
    for (const s of shown) {
      const r = runs[s];
      r.snaps.forEach((sn, i) => {
        const last = i === r.snaps.length - 1;
        maxLag = Math.max(maxLag, sn.norms.length - 1);
        cs.push({ pts: sn.norms.map((v, l) => [l, v]), color: RUN_COLOR[s], w: last ? 2.6 : 1.2, op: last ? 1 : 0.22 + 0.45 * i / Math.max(1, r.snaps.length - 1) });
      });
      if (r.snaps.length) {
        const sn = r.snaps[r.snaps.length - 1];
        snapLegend.push({ label: s + ' · ' + cellOf(s) + ', iteration ' + sn.iteration + (sn.cut_off_share !== null && sn.cut_off_share !== undefined ? ' (cut off: ' + (100 * sn.cut_off_share).toFixed(0) + '%)' : ''), color: RUN_COLOR[s], w: 2.6 });
      }
      if (r.info.truncate) cv.push({ at: r.info.truncate, label: s + ': K = ' + r.info.truncate, color: RUN_COLOR[s] });
    }
    drawChart($('chart-contrib'), {
      title: 'Where ∂L/∂W_{hh} comes from: ‖C_{ℓ}‖_{F} per lag', xLabel: 'lag ℓ = t − k (steps)', yLabel: '‖C_{ℓ}‖_{F} (log scale)', x: [0, maxLag], ylog: true,
      series: cs, vlines: cv, empty: shown.length && !cs.length ? 'the first snapshot comes with iteration 1' : empty,
      legend: snapLegend.concat(cs.length > snapLegend.length ? [{ label: 'earlier (fainter)', color: '#555', w: 1.2, op: 0.4 }] : []),
    });
    $('chart-loss').dataset.drawn = String(shown.reduce((n, s) => n + runs[s].evals.length, 0));
  }

  // ---- phase diagram ---------------------------------------------------------------------------------
  const SWEEP_FIELDS = [
    { key: 'cells', label: 'Cells', kind: 'checks', choices: SWEEP_CELLS, def: 'tanh,relu,lstm' },
    { key: 'gain', label: 'Gains g', kind: 'text', def: '0.5:2.0:0.05', help: 'lo:hi:step (hi included), a list or one value' },
    { key: 'seeds', label: 'Seeds per gain', kind: 'number', min: 1, step: 1, def: '10' },
    { key: 'steps', label: 'Steps T per model', kind: 'number', min: 2, step: 1, def: '500' },
    { key: 'hidden', label: 'Hidden size n', kind: 'number', min: 1, step: 1, def: '64' },
    { key: 'input', label: 'Input size d', kind: 'number', min: 0, step: 1, def: '8' },
    { key: 'input-scale', label: 'Input scale', kind: 'number', min: 0, step: 'any', def: '0.01', help: 'small inputs show the autonomous edge' },
    { key: 'init', label: 'Initialisation', kind: 'select', choices: ['gaussian', 'orthogonal'], def: 'gaussian' },
    { key: 'forget-bias', label: 'Forget bias', kind: 'number', step: 'any', def: '0', when: (o) => /lstm|gru/.test(o.cells) },
    { key: 'units', label: 'Units', kind: 'select', choices: ['decades', 'nats'], def: 'decades' },
    { key: 'seed', label: 'First seed', kind: 'number', min: 0, step: 1, def: '0' },
  ];
  const sweep = { opts: Object.fromEntries(SWEEP_FIELDS.map((f) => [f.key, f.def])), job: null, info: null, es: null, state: 'idle', lastId: -1,
    points: [], done: 0, total: 0, end: null, error: '', errorParam: null, command: '' };

  function sweepQuery(o) {
    const q = new URLSearchParams();
    for (const f of SWEEP_FIELDS) {
      const v = String(o[f.key] ?? '').trim();
      if (v === '' || v === f.def || (f.when && !f.when(o))) continue;
      q.set(f.key, v);
    }
    return q;
  }

  function buildSweepForm() {
    const form = $('sweep-form');
    form.replaceChildren();
    form.onsubmit = (e) => e.preventDefault();
    const o = sweep.opts;
    for (const f of SWEEP_FIELDS) {
      if (f.when && !f.when(o)) continue;
      const row = el('div', 'control');
      row.dataset.param = f.key;
      if (sweep.errorParam === f.key) row.classList.add('invalid');
      const label = el('label', '', f.label); label.htmlFor = 's-' + f.key;
      row.append(label);
      if (f.kind === 'checks') {
        const box = el('div', 'checks'); box.id = 's-' + f.key;
        const chosen = String(o[f.key]).split(',');
        for (const c of f.choices) {
          const l = el('label'); const cb = el('input'); cb.type = 'checkbox'; cb.value = c; cb.checked = chosen.includes(c);
          cb.addEventListener('change', () => { o[f.key] = [...box.querySelectorAll('input:checked')].map((x) => x.value).join(','); buildSweepForm(); writeURL(); });
          l.append(cb, document.createTextNode(' ' + c)); box.append(l);
        }
        row.append(box);
      } else {
        let inp;
        if (f.kind === 'select') { inp = el('select'); for (const c of f.choices) { const op = el('option', '', c); op.value = c; inp.append(op); } }
        else { inp = el('input'); inp.type = f.kind === 'number' ? 'number' : 'text'; if (f.min !== undefined) inp.min = f.min; if (f.step) inp.step = f.step; }
        inp.id = 's-' + f.key; inp.name = f.key; inp.value = o[f.key];
        inp.addEventListener('change', () => { o[f.key] = inp.value.trim(); sweep.errorParam = null; writeURL(); if (f.key === 'units') requestDraw(); });
        row.append(inp);
      }
      if (f.help) row.append(el('div', 'hint', f.help));
      form.append(row);
    }
  }

  async function startSweep() {
    if (sweep.state === 'running' || sweep.state === 'starting') return;
    if (sweep.es) sweep.es.close();
    Object.assign(sweep, { job: null, info: null, es: null, state: 'starting', lastId: -1, points: [], done: 0, total: 0, end: null, error: '', errorParam: null, command: '' });
    renderSweep(); requestDraw();
    let res;
    try { res = await post('/api/jobs/sweep?' + sweepQuery(sweep.opts).toString()); } catch (e) { res = { ok: false, status: 0, j: { error: 'no answer from the server: ' + e.message } }; }
    if (!res.ok) {
      sweep.state = 'idle'; sweep.error = (res.status ? res.status + ': ' : '') + res.j.error; sweep.errorParam = res.j.parameter || null;
      buildSweepForm(); renderSweep(); return;
    }
    Object.assign(sweep, { job: res.j.id, info: res.j.info, command: res.j.command, total: res.j.info.total, state: 'running' });
    const es = new EventSource('/api/jobs/' + encodeURIComponent(sweep.job) + '/events');
    sweep.es = es;
    const job = sweep.job;
    const fresh = (e) => { const id = Number(e.lastEventId); if (id <= sweep.lastId || sweep.job !== job) return false; sweep.lastId = id; return true; };
    es.addEventListener('points', (e) => {
      if (!fresh(e)) return;
      const d = JSON.parse(e.data);
      sweep.points.push(...d.points); sweep.done = d.done; sweep.total = d.total;
      renderSweep(); requestDraw();
    });
    es.addEventListener('end', (e) => {
      es.close();
      if (!fresh(e)) return;
      const d = JSON.parse(e.data);
      sweep.end = d; sweep.state = d.state; if (d.message) sweep.error = d.message;
      renderSweep(); requestDraw();
    });
    es.onerror = () => { if (es.readyState === EventSource.CLOSED && sweep.job === job && sweep.state === 'running') { sweep.state = 'lost'; sweep.error = 'the server closed the event stream'; renderSweep(); } };
    renderSweep();
  }

  function renderSweep() {
    const st = $('sweep-stage');
    st.dataset.state = sweep.state; st.dataset.done = String(sweep.done); st.dataset.total = String(sweep.total); st.dataset.job = sweep.job || '';
    $('sweep-bar').style.width = (sweep.total ? 100 * sweep.done / sweep.total : 0) + '%';
    const what = { idle: sweep.job ? '' : 'no sweep yet', starting: 'starting…', running: '', done: ' · done', stopped: ' · cancelled', failed: ' · failed', expired: ' · expired (time limit)', lost: ' · lost' }[sweep.state] ?? '';
    $('sweep-progress').textContent = sweep.total ? sweep.done + ' / ' + sweep.total + ' points' + what + (sweep.end && typeof sweep.end.seconds === 'number' ? ' in ' + sweep.end.seconds.toFixed(1) + ' s' : '') : what;
    $('sweep-error').textContent = sweep.error; $('sweep-error').hidden = !sweep.error;
    $('sweep-command').textContent = sweep.command || 'gradlab sweep ' + [...sweepQuery(sweep.opts)].map(([k, v]) => '--' + k + ' ' + v).join(' ');
    $('sweep-command').classList.toggle('pending', !sweep.command);
    $('sweep-start').disabled = sweep.state === 'running' || sweep.state === 'starting';
    $('sweep-cancel').disabled = sweep.state !== 'running';
    const files = $('sweep-files');
    files.replaceChildren();
    if (sweep.end && sweep.end.files) for (const f of sweep.end.files) {
      const a = el('a', '', f); a.href = '/api/jobs/' + encodeURIComponent(sweep.job) + '/files/' + encodeURIComponent(f); a.download = 'sweep-' + f; files.append(a);
    }
  }

  function drawSweep() {
    const info = sweep.info;
    const cells = info ? info.cells : String(sweep.opts.cells).split(',').filter(Boolean);
    const gains = info ? info.gains : [];
    const color = (c) => PALETTE[Math.max(0, cells.indexOf(c)) % PALETTE.length];
    const units = info ? info.units : sweep.opts.units;
    const lo = gains.length ? Math.min(...gains) : 0.5, hi = gains.length ? Math.max(...gains) : 2;
    const dots = [], bands = [], series = [];
    for (const p of sweep.points) {
      if (p.kind === 'finite' && p.exponent !== null) dots.push({ x: p.gain, y: p.exponent, color: color(p.cell), cls: 'pt', op: 0.5 });
      else dots.push({ x: p.gain, y: null, shape: p.kind === 'overflow' ? 'up' : 'down', color: color(p.cell), cls: 'pt' });
    }
    // The per-cell mean and the seeds' min–max, from the points so far (the server's statistics at the end).
    for (const c of cells) {
      const byGain = new Map();
      for (const p of sweep.points) if (p.cell === c && p.kind === 'finite' && p.exponent !== null) {
        if (!byGain.has(p.gain)) byGain.set(p.gain, []);
        byGain.get(p.gain).push(p.exponent);
      }
      let stats = [...byGain.entries()].sort((a, b) => a[0] - b[0]).map(([gn, v]) => [gn, v.reduce((a, b) => a + b, 0) / v.length, Math.min(...v), Math.max(...v)]);
      if (sweep.end && sweep.end.stats) {
        stats = sweep.end.stats.filter((s) => s.cell === c && s.mean !== null && s.mean !== undefined).sort((a, b) => a.gain - b.gain).map((s) => [s.gain, s.mean, s.min, s.max]);
      }
      bands.push({ pts: stats.map((s) => [s[0], s[2], s[3]]), color: color(c), op: 0.18 });
      series.push({ pts: stats.map((s) => [s[0], s[1]]), color: color(c), w: 2.8, cls: 'mean' });
    }
    const u = units === 'nats' ? 'nats' : 'decades';
    drawChart($('chart-sweep'), {
      title: 'Where gradients vanish or explode: top Lyapunov exponent λ_{1} against the gain',
      xLabel: 'gain g (recurrent weights N(0, g²/n)' + (sweep.opts.init === 'orthogonal' ? ', or g·orthogonal)' : ')'),
      yLabel: 'λ_{1} (' + u + ' per step)', x: [lo, hi], ylog: false, tickChars: 5.2, y: [-0.1, 0.1], bands, series, dots,
      hlines: [{ at: 0, label: 'λ_{1} = 0', color: '#444', dash: '6 4', w: 1.4, anchor: 'start' }],
      notes: [{ text: 'exploding above: λ_{1} > 0, gradients grow with the lag', where: 'top', color: '#B2182B' },
        { text: 'vanishing below: λ_{1} < 0, gradients shrink with the lag', where: 'bottom', color: '#2166AC' }],
      legend: cells.map((c) => ({ label: c, color: color(c), w: 3 })).concat([{ label: 'one seed', color: '#555', w: 0, marker: true },
        { label: 'mean over seeds', color: '#555', w: 2.8 }, { label: 'min–max over seeds', color: '#555', w: 0, band: true }]),
      empty: sweep.points.length ? undefined : sweep.state === 'starting' || sweep.state === 'running' ? 'waiting for the first points…' : 'Choose cells and gains, then Start sweep',
    });
    $('chart-sweep').dataset.points = String(dots.length);
  }

  // ---- your own model: upload ------------------------------------------------------------------------
  async function upload(file) {
    const errBox = $('upload-error');
    errBox.hidden = true;
    document.querySelector('#upload .control.invalid')?.classList.remove('invalid');
    $('dropzone').classList.add('busy');
    $('status').textContent = 'reading ' + file.name + '…';
    const q = new URLSearchParams({ name: file.name });
    if ($('u-cell').value) q.set('cell', $('u-cell').value);
    let r, j;
    try {
      r = await fetch('/api/models?' + q.toString(), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: file });
      j = await r.json().catch(() => ({ error: 'the server answered ' + r.status }));
    } catch (e) { r = { ok: false, status: 0 }; j = { error: 'no answer from the server: ' + e.message }; }
    $('dropzone').classList.remove('busy');
    $('status').textContent = '';
    $('file').value = '';
    if (!r.ok) {
      errBox.textContent = (r.status ? r.status + ': ' : '') + String(j.error).split('\n')[0];
      errBox.hidden = false;
      if (j.parameter === 'cell') $('u-cell').closest('.control').classList.add('invalid');
      return;
    }
    state.upload = j; state.sub = 'import'; state.layer = 0; state.values = {};
    $('u-view').value = 'import';
    const info = $('upload-info');
    info.replaceChildren();
    info.append(el('div', 'uname', j.name), el('div', 'hint', (j.bytes / 1024).toFixed(1) + ' KB · ' + j.depth + ' layer' + (j.depth === 1 ? '' : 's') +
      ' · inputs: ' + j.input_source + ' · T = ' + j.steps));
    const t = el('table', 'layers');
    const hr = el('tr'); for (const h of ['layer', 'cell', 'shape']) hr.append(el('th', '', h)); t.append(hr);
    j.layers.forEach((l, i) => {
      const tr = el('tr'); tr.dataset.layer = String(i);
      tr.append(el('td', '', String(i)), el('td', '', j.cells[i] || l.split(' ')[0]), el('td', '', l.split(' ').slice(1).join(' ') || l));
      tr.addEventListener('click', () => pickLayer(i, state.sub === 'import' ? 'curves' : state.sub));
      t.append(tr);
    });
    info.append(t);
    info.hidden = false;
    const sel = $('u-layer');
    sel.replaceChildren(...j.layers.map((l, i) => { const o = el('option', '', i + ': ' + l); o.value = String(i); return o; }));
    $('upload-pick').hidden = false;
    $('u-layer-row').hidden = true;
    buildForm(); update();
  }

  function pickLayer(i, sub) {
    state.layer = i; $('u-layer').value = String(i);
    if (sub && sub !== state.sub) { state.sub = sub; $('u-view').value = sub; }
    $('u-layer-row').hidden = state.sub === 'import';
    const keep = {};
    for (const [k, v] of Object.entries(state.values)) if (spec().options.includes(k)) keep[k] = v;
    state.values = keep;
    document.querySelectorAll('#upload-info tr[data-layer]').forEach((tr) => tr.classList.toggle('picked', state.sub !== 'import' && tr.dataset.layer === String(i)));
    buildForm(); update();
  }

  function initUpload() {
    $('file').addEventListener('change', () => { const f = $('file').files[0]; if (f) upload(f); });
    const dz = $('dropzone');
    const over = (e) => { if (state.view !== 'model') return; e.preventDefault(); dz.classList.add('over'); document.body.classList.add('dragging'); };
    const leave = () => { dz.classList.remove('over'); document.body.classList.remove('dragging'); };
    document.addEventListener('dragover', over);
    document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) leave(); });
    document.addEventListener('drop', (e) => {
      if (state.view !== 'model') return;
      e.preventDefault(); leave();
      const f = e.dataTransfer?.files?.[0];
      if (f) upload(f);
    });
    $('u-view').addEventListener('change', () => pickLayer(state.layer, $('u-view').value));
    $('u-layer').addEventListener('change', () => pickLayer(Number($('u-layer').value), state.sub === 'import' ? 'curves' : state.sub));
  }

  // ---- redraws, URL, wiring ------------------------------------------------------------------------------
  let drawTimer = 0, lastDraw = 0;
  function requestDraw() {
    if (drawTimer) return;
    const wait = Math.max(0, 100 - (performance.now() - lastDraw));
    drawTimer = setTimeout(() => requestAnimationFrame(() => { drawTimer = 0; lastDraw = performance.now(); draw(); }), wait);
  }
  function draw() {
    if (state.view === 'train') drawTrain();
    else if (state.view === 'sweep') drawSweep();
  }

  // The live views' options in the address: A.cell=lstm&B.cell=tanh… (what differs from the page's defaults).
  function urlState(q) {
    if (state.view === 'train') {
      for (const slot of ['A', 'B']) for (const [k, v] of Object.entries(runs[slot].opts)) if (String(v) !== String(BASE[k] ?? '') && !(k === 'cell' && v === (slot === 'A' ? 'lstm' : 'tanh'))) q.set(slot + '.' + k, v);
    } else if (state.view === 'sweep') {
      for (const f of SWEEP_FIELDS) if (String(sweep.opts[f.key]) !== f.def) q.set(f.key, sweep.opts[f.key]);
    }
  }
  function readState() {
    const q = new URLSearchParams(location.search);
    for (const [k, v] of q) {
      const m = /^([AB])\.(.+)$/.exec(k);
      if (m && m[2] in BASE) runs[m[1]].opts[m[2]] = v;
      if (q.get('view') === 'sweep' && SWEEP_FIELDS.some((f) => f.key === k)) sweep.opts[k] = v;
    }
    for (const slot of ['A', 'B']) runs[slot].total = Number(runs[slot].opts.iters) || 0;
  }

  function init() {
    readState();
    buildCards(); buildTrainForm(); renderCards();
    buildSweepForm(); renderSweep();
    document.querySelectorAll('.runpick button').forEach((b) => b.addEventListener('click', () => { editing = b.dataset.run; buildTrainForm(); renderCards(); }));
    document.querySelectorAll('[data-preset]').forEach((b) => b.addEventListener('click', () => preset(b.dataset.preset)));
    $('train-start-both').addEventListener('click', async () => { await startRun('A'); await startRun('B'); });
    $('train-stop-all').addEventListener('click', () => { for (const s of ['A', 'B']) if (runs[s].state === 'running' || runs[s].state === 'paused') control(s, 'stop'); });
    $('sweep-start').addEventListener('click', startSweep);
    $('sweep-cancel').addEventListener('click', () => { if (sweep.job) post('/api/jobs/' + encodeURIComponent(sweep.job) + '/stop'); });
    initUpload();
    window.addEventListener('resize', requestDraw);
  }

  window.GradlabLive = {
    init,
    shown: () => requestDraw(),
    redraw: () => requestDraw(),
    urlState,
  };
})();
