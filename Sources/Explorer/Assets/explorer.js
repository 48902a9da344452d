// gradlab explorer: every control is an option of a gradlab command; the server runs that command in
// memory and answers with its chart (SVG), its summary and the numbers under the pointer. The page's URL
// holds the whole state, so a link reproduces the view.
'use strict';

const CELLS = ['sigmoid', 'tanh', 'relu', 'linear', 'irnn', 'lstm', 'gru', 'leaky', 'skip'];
const ACTIVATIONS = ['sigmoid', 'tanh', 'relu', 'linear'];

// Controls, by the option they set. kind: range (slider + number), number, select, checks (comma list),
// text. Only the options a view accepts (from /api/views) are shown for it.
const CONTROLS = {
  cells: { label: 'Cells', kind: 'checks', choices: CELLS },
  cell: { label: 'Cell', kind: 'select', choices: CELLS },
  activations: { label: 'Activations', kind: 'checks', choices: ACTIVATIONS },
  gain: { label: 'Gain g', kind: 'range', min: 0.05, max: 4, step: 0.01, help: 'W_hh entries N(0, g²/n), or g·orthogonal' },
  hidden: { label: 'Hidden size n', kind: 'range', min: 2, max: 256, step: 1 },
  input: { label: 'Input size d', kind: 'range', min: 0, max: 64, step: 1 },
  steps: { label: 'Sequence length T', kind: 'range', min: 2, max: 1000, step: 1, maxBy: { heatmap: 300 } },
  lags: { label: 'Lag t − k', kind: 'range', min: 1, max: 1000, step: 1, view: 'spectrum' },
  init: { label: 'Initialisation', kind: 'select', choices: ['gaussian', 'orthogonal'] },
  'input-scale': { label: 'Input scale', kind: 'range', min: 0, max: 5, step: 0.05, help: 'standard deviation of x_t' },
  'forget-bias': { label: 'Forget bias', kind: 'range', min: -5, max: 5, step: 0.1, help: 'LSTM forget gate, GRU update gate' },
  'forget-biases': { label: 'Forget biases', kind: 'text', placeholder: '0,1', help: 'one panel each (at most 4), e.g. 0,1,3' },
  'leak-rate': { label: 'Leak rates a (lo:hi)', kind: 'text', placeholder: '0.02:0.2', help: 'per-unit share of new input per step (time constants 1/a)' },
  skip: { label: 'Skip length D', kind: 'range', min: 2, max: 16, step: 1 },
  seed: { label: 'Seed', kind: 'number', min: 0, step: 1 },
  norm: { label: 'Norm', kind: 'select', choices: ['spectral', 'frobenius'] },
  bounds: { label: 'Bounds', kind: 'checks', choices: ['classical', 'trajectory'], empty: 'none' },
  block: { label: 'Block', kind: 'select', choices: ['hidden', 'state'] },
  range: { label: 'Range of a', kind: 'range', min: 1, max: 20, step: 0.5 },
  exponents: { label: 'Lyapunov exponents', kind: 'number', min: 1, step: 1, help: 'how many of λ₁…λ_m per layer' },
  warmup: { label: 'Warm-up steps', kind: 'number', min: 0, step: 1, help: 'leading steps not averaged (default T/10)' },
  layers: { label: 'Layers L', kind: 'range', min: 1, max: 16, step: 1, help: 'a stack: layer l reads layer l−1 (PyTorch num_layers)' },
  form: { label: 'Textbook form', kind: 'select', choices: ['f-of-sum', 'w-of-f'],
    help: 'f-of-sum: h = f(W h + U x + b); w-of-f: h = W f(h) + U x + b (vanilla cells)' },
};
// The order controls appear in.
const ORDER = ['cells', 'cell', 'activations', 'gain', 'steps', 'lags', 'hidden', 'layers', 'form', 'norm', 'bounds', 'forget-bias', 'forget-biases',
  'init', 'input-scale', 'input', 'leak-rate', 'skip', 'block', 'range', 'seed', 'exponents', 'warmup'];
// The tabs beyond the server's chart views: live training, the streamed phase diagram (live.js) and an
// uploaded model (drawn by the chart views above, on one of its layers).
const LIVE_TABS = [
  { name: 'train', title: 'Train', help: 'gradlab train, live' },
  { name: 'sweep', title: 'Phase diagram', help: 'gradlab sweep, streamed' },
  { name: 'model', title: 'Your model', help: 'gradlab import on your file' },
];
// On an uploaded model, only these options apply (the random-model ones are the file's).
const MODEL_OPTIONS = ['norm', 'bounds', 'lags', 'block', 'exponents', 'warmup'];

const $ = (id) => document.getElementById(id);
const state = { views: [], view: 'curves', values: {}, present: false, seq: 0, lastGood: null, inflight: null, objectURL: null,
  upload: null, sub: 'import', layer: 0 };
const client = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replace(/[^A-Za-z0-9-]/g, '').slice(0, 60);

function isLive() { return state.view === 'train' || state.view === 'sweep'; }
function tabs() { return state.views.filter((v) => v.name !== 'import').concat(LIVE_TABS); }
// The chart view behind the page's view: on "Your model", the one chosen for the upload.
function chartView() { return state.view === 'model' ? state.sub : state.view; }
function spec() {
  const s = state.views.find((v) => v.name === chartView());
  if (!s || state.view !== 'model') return s;
  return Object.assign({}, s, { options: s.options.filter((o) => MODEL_OPTIONS.includes(o)), flags: [] });
}
function defaults() { return spec().defaults; }
function shown(name) { const s = spec(); return CONTROLS[name] && s.options.includes(name) && relevant(name); }
// Cell-specific options appear only when a chosen cell uses them.
function relevant(name) {
  const need = { 'forget-bias': ['lstm', 'gru'], 'leak-rate': ['leaky'], skip: ['skip'],
    form: ['sigmoid', 'tanh', 'relu', 'linear', 'irnn'] }[name];
  if (!need) return true;
  const s = spec();
  const chosen = s.options.includes('cells') ? String(value('cells')).split(',') : s.options.includes('cell') ? [value('cell')] : [];
  return chosen.some((c) => need.includes(c.trim()));
}

// ---- state <-> URL ----------------------------------------------------------------------------------
function readURL() {
  const q = new URLSearchParams(location.search);
  const v = q.get('view');
  if (v && tabs().some((x) => x.name === v)) state.view = v;
  state.present = q.get('present') === '1';
  state.values = {};
  for (const [k, val] of q) if (k !== 'view' && k !== 'present' && !/^[AB]\./.test(k)) state.values[k] = val;
}

// Query for the server: the command's options that differ from its defaults, plus the chart's size and style.
function commandParams() {
  const p = new URLSearchParams();
  const d = defaults();
  for (const name of ORDER.concat(Object.keys(state.values))) {
    if (p.has(name) || !(name in state.values) || !spec().options.concat(spec().flags).includes(name)) continue;
    const val = state.values[name];
    if (val === undefined || val === null || val === '' || String(val) === String(d[name] ?? '')) continue;
    p.set(name, val);
  }
  if (shown('lags') && !p.has('lags')) p.set('lags', value('lags'));
  if (state.view === 'model' && state.upload) {
    p.set('_upload', state.upload.id);
    if (state.sub !== 'import') p.set('_layer', String(state.layer));
  }
  const box = $('chartbox');
  const w = Math.max(400, Math.min(1920, Math.floor(box.clientWidth / 10) * 10));
  const h = Math.max(260, Math.min(1080, Math.floor(box.clientHeight / 10) * 10));
  if (!p.has('width')) p.set('width', w);
  if (!p.has('height')) p.set('height', h);
  if (state.present && !state.values.style) p.set('style', 'slides');
  return p;
}

function writeURL() {
  $('fit').hidden = !(state.values.width || state.values.height);
  const q = new URLSearchParams();
  q.set('view', state.view);
  if (state.present) q.set('present', '1');
  if (isLive()) { window.GradlabLive?.urlState(q); history.replaceState(null, '', '?' + q.toString()); return; }
  if (!spec()) { history.replaceState(null, '', '?' + q.toString()); return; }
  const d = defaults();
  for (const [k, v] of Object.entries(state.values)) if (v !== '' && String(v) !== String(d[k] ?? '')) q.set(k, v);
  history.replaceState(null, '', '?' + q.toString());
}

// ---- controls -----------------------------------------------------------------------------------------
function value(name) {
  if (name in state.values) return state.values[name];
  if (name === 'lags') return String(Math.max(1, Math.round(Number(state.view === 'model' && state.upload ? state.upload.steps : value('steps')) * 0.3)));
  return defaults()[name] ?? '';
}

function buildForm() {
  const form = $('form');
  form.replaceChildren();
  form.onsubmit = (e) => e.preventDefault();
  if (isLive() || (state.view === 'model' && !state.upload)) return;
  for (const name of ORDER) {
    if (!shown(name)) continue;
    const c = CONTROLS[name];
    const row = document.createElement('div');
    row.className = 'control';
    row.dataset.param = name;
    const label = document.createElement('label');
    label.textContent = c.label;
    label.htmlFor = 'c-' + name;
    row.append(label);
    if (c.kind === 'range') {
      const slider = document.createElement('input');
      slider.type = 'range'; slider.id = 'c-' + name; slider.name = name;
      slider.min = c.min; slider.step = c.step;
      slider.max = (c.maxBy && c.maxBy[state.view]) || c.max;
      if (name === 'lags') slider.max = value('steps');
      const num = document.createElement('input');
      num.type = 'number'; num.className = 'num'; num.step = c.step; num.name = name + '-value';
      num.setAttribute('aria-label', c.label);
      const v = value(name);
      slider.value = v; num.value = v;
      slider.addEventListener('input', () => { num.value = slider.value; set(name, slider.value); });
      num.addEventListener('change', () => { slider.value = num.value; set(name, num.value); });
      const wrap = document.createElement('div'); wrap.className = 'pair';
      wrap.append(slider, num);
      row.append(wrap);
    } else if (c.kind === 'select') {
      const sel = document.createElement('select');
      sel.id = 'c-' + name; sel.name = name;
      for (const ch of c.choices) { const o = document.createElement('option'); o.value = ch; o.textContent = ch; sel.append(o); }
      sel.value = value(name);
      sel.addEventListener('change', () => { set(name, sel.value); if (name === 'cell') buildForm(); });
      row.append(sel);
    } else if (c.kind === 'checks') {
      const box = document.createElement('div'); box.className = 'checks'; box.id = 'c-' + name;
      const chosen = String(value(name)).split(',').map((s) => s.trim());
      for (const ch of c.choices) {
        const l = document.createElement('label');
        const cb = document.createElement('input');
        cb.type = 'checkbox'; cb.value = ch; cb.name = name; cb.checked = chosen.includes(ch);
        cb.addEventListener('change', () => {
          const list = [...box.querySelectorAll('input:checked')].map((x) => x.value);
          set(name, list.length ? list.join(',') : (c.empty || ''));
          if (name === 'cells') buildForm();
        });
        l.append(cb, document.createTextNode(' ' + ch));
        box.append(l);
      }
      row.append(box);
    } else {
      const inp = document.createElement('input');
      inp.type = c.kind === 'number' ? 'number' : 'text';
      inp.id = 'c-' + name; inp.name = name;
      if (c.min !== undefined) inp.min = c.min;
      if (c.step !== undefined) inp.step = c.step;
      inp.value = value(name);
      if (c.placeholder) inp.placeholder = c.placeholder;
      inp.addEventListener('change', () => set(name, inp.value.trim()));
      row.append(inp);
    }
    if (c.help) { const h = document.createElement('div'); h.className = 'hint'; h.textContent = c.help; row.append(h); }
    form.append(row);
  }
}

function set(name, v) {
  state.values[name] = String(v);
  if (name === 'steps' && shown('lags')) {
    const lag = $('c-lags');
    if (lag) { lag.max = v; if (Number(value('lags')) > Number(v)) { state.values.lags = String(v); } lag.value = value('lags'); lag.nextSibling && (lag.parentNode.querySelector('.num').value = value('lags')); }
  }
  schedule();
}

// ---- requests -------------------------------------------------------------------------------------------
let frame = 0;
function schedule() {
  document.body.dataset.state = 'loading';
  if (frame) return;
  frame = requestAnimationFrame(() => { frame = 0; update(); });
}

function update() {
  writeURL();
  if (isLive()) { window.GradlabLive?.redraw(); return; }
  if (state.view === 'model' && !state.upload) { modelEmpty(); return; }
  const params = commandParams();
  const q = new URLSearchParams(params);
  q.set('_client', client);
  q.set('_seq', String(++state.seq));
  const seq = state.seq;
  if (state.inflight) state.inflight.abort();
  const ctrl = new AbortController();
  state.inflight = ctrl;
  document.body.dataset.state = 'loading';
  const spin = setTimeout(() => { $('spinner').hidden = false; }, 200);
  fetch('/api/view/' + chartView() + '?' + q.toString(), { signal: ctrl.signal })
    .then(async (r) => {
      const j = await r.json().catch(() => ({ error: 'the server answered ' + r.status }));
      if (seq !== state.seq || r.status === 409) return;
      if (!r.ok) { showError(j, r.status); return; }
      render(j, params, seq);
    })
    .catch((e) => { if (e.name !== 'AbortError' && seq === state.seq) showError({ error: 'no answer from the server: ' + e.message }, 0); })
    .finally(() => { clearTimeout(spin); if (seq === state.seq) { $('spinner').hidden = true; state.inflight = null; } });
}

function showError(j, status) {
  const box = $('error');
  box.textContent = (status ? status + ': ' : '') + j.error;
  box.hidden = false;
  document.querySelectorAll('.control.invalid').forEach((e) => e.classList.remove('invalid'));
  if (j.parameter) {
    const row = document.querySelector('.control[data-param="' + CSS.escape(j.parameter) + '"]');
    if (row) row.classList.add('invalid');
  }
  $('chartbox').classList.add('stale');
  document.body.dataset.state = 'error';
  $('status').textContent = '';
}

function render(j, params, seq) {
  $('error').hidden = true;
  document.querySelectorAll('.control.invalid').forEach((e) => e.classList.remove('invalid'));
  $('chartbox').classList.remove('stale');
  const url = URL.createObjectURL(new Blob([j.svg], { type: 'image/svg+xml' }));
  const img = $('chart');
  img.onload = () => { if (state.objectURL && state.objectURL !== url) URL.revokeObjectURL(state.objectURL); state.objectURL = url; };
  img.src = url;
  img.dataset.width = j.width; img.dataset.height = j.height;
  img.dataset.hash = fnv1a(j.svg);
  const ov = $('overlay');
  ov.setAttribute('viewBox', '0 0 ' + j.width + ' ' + j.height);
  ov.replaceChildren();
  state.lastGood = j;
  // Summary beside the chart.
  const sum = $('summary');
  sum.replaceChildren();
  if (j.summary.length) {
    const t = document.createElement('table');
    const head = document.createElement('tr');
    for (const [k] of j.summary[0]) { const th = document.createElement('th'); th.textContent = k; head.append(th); }
    t.append(head);
    for (const row of j.summary) {
      const tr = document.createElement('tr');
      for (const [k, v] of row) {
        const td = document.createElement('td'); td.textContent = v;
        if (k === 'regime') { tr.dataset.regime = v.split(' ')[0]; td.className = 'regime ' + v.split(' ')[0]; }
        if (k === 'cell') tr.dataset.cell = v;
        tr.append(td);
      }
      t.append(tr);
    }
    sum.append(t);
  }
  $('command').textContent = j.commands.png;
  const dl = $('downloads');
  dl.replaceChildren();
  const base = params.toString();
  const kinds = ['png', 'svg', 'pdf'].concat(j.files);
  for (const k of kinds) {
    const a = document.createElement('a');
    a.href = '/download/' + j.view + '/' + k + '?' + base;
    a.textContent = k.toUpperCase();
    a.download = j.view + '.' + k;
    a.title = j.commands[k];
    a.dataset.kind = k;
    dl.append(a);
  }
  j.models.forEach((m, i) => {
    const a = document.createElement('a');
    a.href = '/download/' + j.view + '/model?' + base + '&_model=' + i;
    a.textContent = m + ' model';
    a.download = m.replace(/[^A-Za-z0-9.-]/g, '-') + '.model.json';
    a.title = 'gradlab.model/1 — ' + j.commands.model;
    a.dataset.kind = 'model';
    dl.append(a);
  });
  const w = $('warnings');
  w.replaceChildren(...j.warnings.map((x) => { const d = document.createElement('div'); d.textContent = '⚠ ' + x; return d; }));
  $('status').textContent = 'computed in ' + Math.round(j.server_ms) + ' ms';
  document.body.dataset.state = 'ready';
  document.body.dataset.seq = String(seq);
  img.dataset.view = j.view;
  img.dataset.upload = params.get('_upload') || '';
  img.dataset.layer = params.get('_layer') || '';
}

// "Your model" before a file is chosen: no chart, the drop zone says what to do.
function modelEmpty() {
  document.body.dataset.state = 'ready';
  $('error').hidden = true;
  const img = $('chart');
  if (img.getAttribute('src')) img.removeAttribute('src');
  img.dataset.view = ''; img.dataset.upload = ''; img.dataset.hash = '';
  $('overlay').replaceChildren();
  $('summary').replaceChildren();
  $('command').textContent = 'gradlab import FILE';
  $('downloads').replaceChildren();
  $('warnings').replaceChildren();
  $('status').textContent = '';
}

// A fingerprint of the chart (32-bit FNV-1a of its SVG): the same state must give the same chart.
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h.toString(16).padStart(8, '0') + '-' + text.length;
}

// ---- read-out under the pointer ---------------------------------------------------------------------
function fmt(v, log10) {
  if (v === null || v === undefined) return '—';
  if (!log10) return Number(v).toPrecision(4);
  const lin = Math.pow(10, v);
  const s = Math.abs(v) < 300 ? ' (' + lin.toExponential(2) + ')' : '';
  return '10^' + v.toFixed(2) + s;
}

function pointer(ev) {
  const j = state.lastGood;
  const img = $('chart');
  if (!j || !img.clientWidth) return;
  // The chart is drawn contained in the box from its top-left corner, at this scale.
  const r = img.getBoundingClientRect();
  const k = Math.min(r.width / j.width, r.height / j.height);
  const fx = (ev.clientX - r.left) / k;
  const fy = (ev.clientY - r.top) / k;
  const ov = $('overlay');
  ov.replaceChildren();
  const out = $('readout');
  const h = j.hover;
  let lines = [];
  if (h.kind === 'lines') {
    let best = null;
    for (const p of h.panels) {
      const xs = p.px.filter((x) => x !== null);
      if (!xs.length) continue;
      const lo = Math.min(...xs), hi = Math.max(...xs);
      const d = fx < lo ? lo - fx : fx > hi ? fx - hi : 0;
      if (!best || d < best.d) best = { p, d };
    }
    if (!best || best.d > 30) { out.hidden = true; return; }
    const p = best.p;
    let idx = 0, bd = Infinity;
    p.px.forEach((x, i) => { if (x !== null && Math.abs(x - fx) < bd) { bd = Math.abs(x - fx); idx = i; } });
    const X = p.px[idx];
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'line');
    line.setAttribute('x1', X); line.setAttribute('x2', X); line.setAttribute('y1', 0); line.setAttribute('y2', j.height);
    line.setAttribute('class', 'guide');
    ov.append(line);
    lines.push(p.x_name + ' = ' + p.x[idx]);
    for (const s of p.series) {
      const v = s.values[idx];
      lines.push(s.name + ': ' + fmt(v, s.log10));
      const y = s.py[idx];
      if (y !== null) {
        const c = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
        c.setAttribute('cx', X); c.setAttribute('cy', y); c.setAttribute('r', 4); c.setAttribute('class', 'dot');
        ov.append(c);
      }
    }
  } else if (h.kind === 'grid') {
    const rows = h.rows || h.size, cols = h.cols || h.size;
    const k = Math.round((fx - h.origin[0]) / (h.corner[0] - h.origin[0]) * Math.max(cols - 1, 1));
    const t = Math.round((fy - h.origin[1]) / (h.corner[1] - h.origin[1]) * Math.max(rows - 1, 1));
    if (k < 0 || t < 0 || k >= cols || t >= rows || h.values[t][k] === null) { out.hidden = true; return; }
    const lag = h.lag === false ? '' : ' (lag ' + (t - k) + ')';
    lines = [h.x_name + ' = ' + k + ', ' + h.y_name + ' = ' + t + lag, h.value_name + ': ' + fmt(h.values[t][k], true)];
  } else { out.hidden = true; return; }
  out.replaceChildren(...lines.map((x) => { const d = document.createElement('div'); d.textContent = x; return d; }));
  out.hidden = false;
  const box = $('chartbox').getBoundingClientRect();
  let left = ev.clientX - box.left + 16, top = ev.clientY - box.top + 16;
  if (left + out.offsetWidth > box.width) left = ev.clientX - box.left - out.offsetWidth - 16;
  if (top + out.offsetHeight > box.height) top = Math.max(0, box.height - out.offsetHeight - 4);
  out.style.left = left + 'px'; out.style.top = top + 'px';
}

// ---- views, presentation, keyboard --------------------------------------------------------------------
function buildTabs() {
  const nav = $('tabs');
  nav.replaceChildren();
  tabs().forEach((v, i) => {
    const b = document.createElement('button');
    b.type = 'button'; b.textContent = v.title; b.dataset.view = v.name; b.setAttribute('role', 'tab');
    b.title = (v.help || 'gradlab ' + v.name) + ' (' + (i + 1) + ')';
    if (LIVE_TABS.includes(v)) b.classList.add('livetab');
    b.setAttribute('aria-selected', v.name === state.view ? 'true' : 'false');
    b.addEventListener('click', () => switchView(v.name));
    nav.append(b);
  });
}

function switchView(name) {
  if (name === state.view) return;
  const before = state.view;
  state.view = name;
  showPanes();
  if (isLive() || name === 'model' || before === 'model') {
    if (state.inflight) state.inflight.abort();
    if (!isLive()) state.values = {};
    buildTabs(); buildForm(); update();
    return;
  }
  // Carry the shared model options over; drop what the new view does not take.
  const keep = {};
  for (const [k, v] of Object.entries(state.values)) if (spec().options.includes(k) || spec().flags.includes(k)) keep[k] = v;
  if (name === 'heatmap' && state.values.cells && !keep.cell) keep.cell = state.values.cells.split(',')[0];
  if (name !== 'heatmap' && state.values.cell && spec().options.includes('cells') && !keep.cells) keep.cells = state.values.cell;
  state.values = keep;
  buildTabs(); buildForm(); update();
}

// The chart views share the controls and the stage; the live views have their own.
function showPanes() {
  const live = isLive();
  $('controls').hidden = live; $('stage').hidden = live;
  $('train-controls').hidden = state.view !== 'train'; $('train-stage').hidden = state.view !== 'train';
  $('sweep-controls').hidden = state.view !== 'sweep'; $('sweep-stage').hidden = state.view !== 'sweep';
  $('upload').hidden = state.view !== 'model';
  document.body.dataset.view = state.view;
  window.GradlabLive?.shown(state.view);
}

function setPresent(on) {
  state.present = on;
  document.body.classList.toggle('present', on);
  $('present').setAttribute('aria-pressed', on ? 'true' : 'false');
  update();
}

function nudge(name, delta, mult) {
  if (isLive() || !spec() || !shown(name)) return;
  const c = CONTROLS[name];
  let v = Number(value(name));
  v = mult ? v * mult : v + delta;
  const max = Number((c.maxBy && c.maxBy[state.view]) || c.max);
  v = Math.min(max, Math.max(c.min, v));
  v = c.step >= 1 ? Math.round(v) : Math.round(v / c.step) * c.step;
  const text = c.step >= 1 ? String(v) : v.toFixed(String(c.step).split('.')[1]?.length || 0);
  state.values[name] = text;
  const slider = $('c-' + name);
  if (slider) { slider.value = text; const num = slider.parentNode.querySelector('.num'); if (num) num.value = text; }
  set(name, text);
}

function keys(ev) {
  const t = ev.target;
  if (t && (t.tagName === 'INPUT' && t.type !== 'range' && t.type !== 'checkbox' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const k = ev.key;
  let handled = true;
  if (k === 'ArrowRight') nudge('gain', ev.shiftKey ? 0.25 : 0.05);
  else if (k === 'ArrowLeft') nudge('gain', ev.shiftKey ? -0.25 : -0.05);
  else if (k === 'ArrowUp') nudge('steps', 0, 2);
  else if (k === 'ArrowDown') nudge('steps', 0, 0.5);
  else if (k === ']') nudge('forget-bias', 0.5);
  else if (k === '[') nudge('forget-bias', -0.5);
  else if (/^[1-9]$/.test(k) && tabs()[Number(k) - 1]) switchView(tabs()[Number(k) - 1].name);
  else if (k === 'n' || k === 'N') { if (spec() && !isLive() && shown('norm')) { set('norm', value('norm') === 'spectral' ? 'frobenius' : 'spectral'); buildForm(); } }
  else if (k === 'b' || k === 'B') { if (spec() && !isLive() && shown('bounds')) { set('bounds', value('bounds') === 'none' ? 'classical' : 'none'); buildForm(); } }
  else if (k === 's' || k === 'S') { if (spec() && !isLive() && shown('seed')) { set('seed', String(Number(value('seed')) + 1)); buildForm(); } }
  else if (k === 'p' || k === 'P') setPresent(!state.present);
  else if (k === 'f' || k === 'F') { if (document.fullscreenElement) document.exitFullscreen(); else document.documentElement.requestFullscreen?.(); }
  else if (k === '?') $('helpbox').hidden = !$('helpbox').hidden;
  else if (k === 'Escape') { $('helpbox').hidden = true; if (state.present) setPresent(false); }
  else handled = false;
  if (handled) ev.preventDefault();
}

async function start() {
  const r = await fetch('/api/views');
  state.views = (await r.json()).views;
  readURL();
  document.body.classList.toggle('present', state.present);
  window.GradlabLive?.init();
  showPanes();
  buildTabs(); buildForm();
  $('present').addEventListener('click', () => setPresent(!state.present));
  $('help').addEventListener('click', () => { $('helpbox').hidden = !$('helpbox').hidden; });
  $('helpclose').addEventListener('click', () => { $('helpbox').hidden = true; });
  $('copy').addEventListener('click', () => navigator.clipboard?.writeText($('command').textContent));
  // The address follows the window's size; a copied link pins the size, so it reproduces this very chart.
  $('link').addEventListener('click', () => {
    const q = new URLSearchParams(location.search);
    const p = commandParams();
    q.set('width', p.get('width')); q.set('height', p.get('height'));
    navigator.clipboard?.writeText(location.origin + location.pathname + '?' + q.toString());
  });
  $('fit').addEventListener('click', () => { delete state.values.width; delete state.values.height; update(); });
  $('chartbox').addEventListener('mousemove', pointer);
  $('chartbox').addEventListener('mouseleave', () => { $('readout').hidden = true; $('overlay').replaceChildren(); });
  document.addEventListener('keydown', keys);
  let resize = 0;
  window.addEventListener('resize', () => { clearTimeout(resize); resize = setTimeout(update, 150); });
  update();
}

document.addEventListener('DOMContentLoaded', start);
