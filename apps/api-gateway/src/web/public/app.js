// Argus web page: plain JavaScript, no build step, nothing loaded from elsewhere.
// Talks to the REST API with the API key from the form (kept in localStorage), follows a
// detection's Server-Sent Events through fetch() (EventSource cannot send the key header), and
// draws the boxes over the photo in SVG.
'use strict';

(() => {
  const KEY_STORAGE = 'argus.apiKey';
  const $ = (id) => document.getElementById(id);
  const els = {
    form: $('submit-form'), apiKey: $('api-key'), drop: $('drop'), file: $('file'), fileName: $('file-name'),
    model: $('model'), priority: $('priority'), confidence: $('confidence'), submit: $('submit'), message: $('message'),
    timeline: $('timeline'), summary: $('summary'), figure: $('figure'), photo: $('photo'), overlay: $('overlay'),
    annotated: $('annotated'), table: $('detections'),
  };
  let chosen = null; // the File to send
  let current = null; // id of the detection on screen
  let startedAt = 0;

  // ---- API key and requests
  els.apiKey.value = localStorage.getItem(KEY_STORAGE) || '';
  els.apiKey.addEventListener('change', () => {
    localStorage.setItem(KEY_STORAGE, els.apiKey.value.trim());
    void loadModels();
  });

  function headers(extra) {
    const key = els.apiKey.value.trim();
    return Object.assign(key ? { 'x-api-key': key } : {}, extra || {});
  }

  async function api(path, init) {
    const res = await fetch(path, Object.assign({}, init, { headers: headers(init && init.headers) }));
    const type = res.headers.get('content-type') || '';
    const body = type.includes('application/json') ? await res.json() : null;
    if (!res.ok && !(body && body.status)) {
      const error = (body && body.error) || { code: 'http_' + res.status, message: res.statusText };
      throw Object.assign(new Error(error.message), { code: error.code, status: res.status });
    }
    return { status: res.status, body };
  }

  function say(text, isError) {
    els.message.textContent = text;
    els.message.classList.toggle('error', Boolean(isError));
  }

  // ---- models
  async function loadModels() {
    if (!els.apiKey.value.trim()) {
      els.message.dataset.kind = 'models';
      say('Enter your API key to use Argus.');
      return;
    }
    try {
      const { body } = await api('/v1/models');
      const keep = els.model.value;
      els.model.replaceChildren(new Option('default', ''));
      for (const m of body.models) els.model.add(new Option(`${m.name} (${m.family}, ${m.input.width}x${m.input.height}, ${m.provider})`, m.name));
      els.model.value = keep;
      if (els.message.dataset.kind === 'models') say('');
    } catch (error) {
      els.message.dataset.kind = 'models';
      say(error.status === 401 || error.status === 403 ? 'Enter a valid API key to use Argus.' : `Could not list models: ${error.message}`, true);
    }
  }

  // ---- choosing a photo
  function choose(file) {
    if (!file) return;
    if (file.type && !file.type.startsWith('image/')) {
      say(`${file.name} is not an image`, true);
      return;
    }
    chosen = file;
    els.fileName.textContent = `${file.name} · ${(file.size / 1024).toFixed(0)} KiB`;
    els.submit.disabled = false;
    say('');
  }
  els.file.addEventListener('change', () => choose(els.file.files[0]));
  els.drop.addEventListener('click', () => els.file.click());
  els.drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      els.file.click();
    }
  });
  for (const name of ['dragenter', 'dragover']) {
    els.drop.addEventListener(name, (e) => {
      e.preventDefault();
      els.drop.classList.add('over');
    });
  }
  for (const name of ['dragleave', 'drop']) els.drop.addEventListener(name, () => els.drop.classList.remove('over'));
  els.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    choose(e.dataTransfer.files[0]);
  });

  // ---- submitting and following
  els.form.addEventListener('submit', (e) => {
    e.preventDefault();
    void submit();
  });

  async function submit() {
    if (!chosen) return;
    els.submit.disabled = true;
    reset();
    startedAt = performance.now();
    const form = new FormData();
    form.set('image', chosen, chosen.name || 'upload');
    if (els.model.value) form.set('model', els.model.value);
    form.set('priority', els.priority.value);
    if (els.confidence.value !== '') form.set('confidence', els.confidence.value);
    showPhoto(chosen);
    try {
      const { status, body } = await api('/v1/detections', { method: 'POST', body: form });
      current = body.id;
      say(`Detection ${body.id} ${status === 202 ? 'accepted' : 'answered'}${body.cached ? ' from the cache' : ''}.`);
      await follow(body);
    } catch (error) {
      say(`${error.code ? error.code + ': ' : ''}${error.message}`, true);
    } finally {
      els.submit.disabled = false;
    }
  }

  async function follow(first) {
    const id = first.id;
    mark(first.status); // what the submission answered; the stream goes on from there
    if (first.status === 'completed' || first.status === 'failed') return show(first);
    try {
      const res = await fetch(`/v1/detections/${encodeURIComponent(id)}/events`, { headers: headers({ accept: 'text/event-stream' }) });
      if (!res.ok || !res.body) throw new Error(`events answered ${res.status}`);
      for await (const message of serverSentEvents(res.body)) {
        if (id !== current) return;
        const data = JSON.parse(message.data);
        if (message.event === 'status') mark(data.status);
        else if (message.event === 'result') return show(data);
        else if (message.event === 'error') throw new Error(data.error ? data.error.message : 'event stream failed');
      }
    } catch (error) {
      // No stream (an old proxy, a dropped connection): poll instead.
      say(`Live status unavailable (${error.message}); polling.`);
    }
    for (;;) {
      const { body } = await api(`/v1/detections/${encodeURIComponent(id)}`);
      mark(body.status);
      if (body.status === 'completed' || body.status === 'failed') return show(body);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Parses a text/event-stream body into { event, data, id } messages. */
  async function* serverSentEvents(stream) {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message = { event: 'message', data: '', id: null };
        const data = [];
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') message.event = value;
          else if (field === 'data') data.push(value);
          else if (field === 'id') message.id = value;
        }
        if (data.length > 0) {
          message.data = data.join('\n');
          yield message;
        }
      }
    }
  }

  // ---- drawing
  function reset() {
    els.timeline.replaceChildren();
    els.summary.textContent = '';
    els.table.hidden = true;
    els.table.tBodies[0].replaceChildren();
    els.overlay.replaceChildren();
    els.annotated.disabled = true;
  }

  function mark(status) {
    const last = els.timeline.lastElementChild;
    if (last && last.dataset.status === status) return;
    const li = document.createElement('li');
    li.dataset.status = status;
    li.className = status;
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = status;
    const time = document.createElement('span');
    time.className = 'time';
    time.textContent = `+${Math.round(performance.now() - startedAt)} ms`;
    li.append(state, time);
    els.timeline.append(li);
  }

  function showPhoto(file) {
    // A data: URL, not a blob: one, so a strict img-src CSP ('self' data:) allows it.
    const reader = new FileReader();
    reader.onload = () => {
      els.photo.src = String(reader.result);
      els.figure.hidden = false;
    };
    reader.readAsDataURL(file);
  }

  function colour(classId) {
    return `hsl(${((classId * 137.508) % 360).toFixed(1)} 85% 50%)`;
  }

  function show(view) {
    mark(view.status);
    if (view.status === 'failed') {
      say(`Failed: ${view.error ? `${view.error.code}: ${view.error.message}` : 'unknown error'}`, true);
      return;
    }
    const timings = view.timings || {};
    els.summary.textContent = [
      `${view.detections.length} object${view.detections.length === 1 ? '' : 's'}`,
      `${view.model.name}`,
      view.cached ? 'from the cache' : timings.total !== undefined ? `${Math.round(timings.total)} ms in Argus` : '',
      view.provider ? `on ${view.provider}` : '',
    ].filter(Boolean).join(' · ');
    drawBoxes(view);
    fillTable(view);
    els.annotated.disabled = false;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(name, attrs) {
    const el = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  }

  function drawBoxes(view) {
    const { width, height } = view.image;
    els.overlay.setAttribute('viewBox', `0 0 ${width} ${height}`);
    els.overlay.replaceChildren();
    const unit = Math.max(2, Math.round(Math.min(width, height) / 300));
    const fontSize = Math.max(12, Math.round(Math.min(width, height) / 40));
    const sorted = [...view.detections].sort((a, b) => a.score - b.score);
    for (const d of sorted) {
      const { x1, y1, x2, y2 } = d.box;
      const c = colour(d.classId);
      const g = svg('g', { class: 'box', 'data-label': d.label });
      g.append(svg('rect', { x: x1, y: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1), fill: 'none', stroke: c, 'stroke-width': unit }));
      const text = `${d.label} ${d.score.toFixed(2)}`;
      const labelW = text.length * fontSize * 0.62 + fontSize * 0.6;
      const labelH = fontSize * 1.35;
      const lx = Math.max(0, Math.min(x1, width - labelW));
      const ly = y1 >= labelH ? y1 - labelH : y1;
      g.append(svg('rect', { x: lx, y: ly, width: labelW, height: labelH, fill: c }));
      const t = svg('text', { x: lx + fontSize * 0.3, y: ly + fontSize * 1.05, fill: '#fff', 'font-size': fontSize, stroke: '#000', 'stroke-width': fontSize / 14, 'paint-order': 'stroke' });
      t.textContent = text;
      g.append(t);
      els.overlay.append(g);
    }
  }

  function fillTable(view) {
    const body = els.table.tBodies[0];
    body.replaceChildren();
    [...view.detections].sort((a, b) => b.score - a.score).forEach((d, i) => {
      const tr = document.createElement('tr');
      tr.dataset.label = d.label;
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = colour(d.classId);
      const label = document.createElement('td');
      label.className = 'label';
      label.append(swatch, d.label);
      const num = (text) => {
        const td = document.createElement('td');
        td.className = 'num';
        td.textContent = text;
        return td;
      };
      const box = [d.box.x1, d.box.y1, d.box.x2, d.box.y2].map((v) => Math.round(v)).join(', ');
      tr.append(num(String(i + 1)), label, num(d.score.toFixed(3)), num(box));
      body.append(tr);
    });
    els.table.hidden = view.detections.length === 0;
    if (view.detections.length === 0) els.summary.textContent += ' — nothing found';
  }

  els.annotated.addEventListener('click', async () => {
    if (!current) return;
    try {
      const res = await fetch(`/v1/detections/${encodeURIComponent(current)}/annotated?format=png`, { headers: headers() });
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        throw new Error(body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
      }
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `${current}.png`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      say(`Annotated image: ${error.message}`, true);
    }
  });

  void loadModels();
})();
