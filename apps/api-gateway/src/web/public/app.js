// Argus web page: plain JavaScript, no build step, nothing loaded from elsewhere.
// Talks to the REST API with the API key from the form (kept in localStorage), sends each chosen
// (or pasted) photo as its own detection, follows each through Server-Sent Events read with
// fetch() (EventSource cannot send the key header), draws the boxes over the photo in SVG,
// re-filters them by score without asking again, shows the request as a curl command, and pages
// through the key's history.
'use strict';

(() => {
  const KEY_STORAGE = 'argus.apiKey';
  const HISTORY_PAGE = 10;
  const PARALLEL = 3;
  const $ = (id) => document.getElementById(id);
  const els = {
    form: $('submit-form'), apiKey: $('api-key'), drop: $('drop'), file: $('file'), fileName: $('file-name'),
    model: $('model'), priority: $('priority'), confidence: $('confidence'), submit: $('submit'), message: $('message'),
    runs: $('runs'), timeline: $('timeline'), summary: $('summary'), figure: $('figure'), photo: $('photo'), overlay: $('overlay'),
    annotated: $('annotated'), table: $('detections'), minScore: $('min-score'), minScoreValue: $('min-score-value'),
    curlBox: $('curl-box'), curl: $('curl'), copyCurl: $('copy-curl'),
    history: $('history'), historyEmpty: $('history-empty'), moreHistory: $('more-history'), refreshHistory: $('refresh-history'),
  };
  let chosen = []; // the Files to send
  const runs = []; // one per photo sent: { file, name, photo, sent, id, status, view, timeline, startedAt, li }
  let shown = null; // the run (or history entry) on screen
  let historyCursor = null;

  // ---- API key and requests
  els.apiKey.value = localStorage.getItem(KEY_STORAGE) || '';
  els.apiKey.addEventListener('change', () => {
    localStorage.setItem(KEY_STORAGE, els.apiKey.value.trim());
    void loadModels();
    void loadHistory(true);
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

  // ---- choosing photos: the file picker, drag and drop, the clipboard
  function choose(files) {
    const images = [];
    for (const file of files) {
      if (file.type && !file.type.startsWith('image/')) {
        say(`${file.name} is not an image`, true);
        continue;
      }
      images.push(file);
    }
    if (images.length === 0) return;
    chosen = images;
    const size = images.reduce((n, f) => n + f.size, 0);
    els.fileName.textContent = images.length === 1 ? `${images[0].name} · ${(size / 1024).toFixed(0)} KiB` : `${images.length} photos (${images.map((f) => f.name).join(', ')}) · ${(size / 1024).toFixed(0)} KiB`;
    els.fileName.dataset.count = String(images.length);
    els.submit.disabled = false;
    say('');
  }
  els.file.addEventListener('change', () => choose(els.file.files));
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
    choose(e.dataTransfer.files);
  });
  document.addEventListener('paste', (e) => {
    const files = [...((e.clipboardData && e.clipboardData.files) || [])].filter((f) => f.type.startsWith('image/'));
    if (files.length === 0) return; // text pasted into a field: leave it alone
    e.preventDefault();
    // Screenshots arrive as "image.png"; number them so several can be told apart.
    choose(files.map((f, i) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted-${Date.now()}-${i + 1}.${(f.type.split('/')[1] || 'png').replace('jpeg', 'jpg')}`, { type: f.type }))));
    say(`${files.length === 1 ? 'A photo' : `${files.length} photos`} pasted from the clipboard.`);
  });

  // ---- submitting: each photo its own detection, a few at a time
  els.form.addEventListener('submit', (e) => {
    e.preventDefault();
    void submitAll();
  });

  /** The form fields sent with every photo of this submission, in order (also what the curl command shows). */
  function options() {
    const fields = [];
    if (els.model.value) fields.push(['model', els.model.value]);
    fields.push(['priority', els.priority.value]);
    if (els.confidence.value !== '') fields.push(['confidence', els.confidence.value]);
    return fields;
  }

  async function submitAll() {
    if (chosen.length === 0) return;
    els.submit.disabled = true;
    const fields = options();
    const batch = chosen.map((file) => addRun(file, fields));
    chosen = [];
    els.fileName.textContent = '';
    show(batch[0]);
    let next = 0;
    const worker = async () => {
      while (next < batch.length) await send(batch[next++]);
    };
    try {
      await Promise.all(Array.from({ length: Math.min(PARALLEL, batch.length) }, worker));
    } finally {
      els.submit.disabled = chosen.length === 0;
      void loadHistory(true);
    }
  }

  function addRun(file, fields) {
    const run = { file, name: file.name || 'upload', photo: null, sent: fields, id: null, status: 'sending', view: null, timeline: [], startedAt: performance.now(), li: document.createElement('li') };
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'run';
    button.addEventListener('click', () => show(run));
    run.li.append(button);
    els.runs.prepend(run.li);
    runs.push(run);
    readPhoto(run);
    paintRun(run);
    return run;
  }

  function paintRun(run) {
    const button = run.li.firstChild;
    button.textContent = `${run.name} — ${run.status}${run.view && run.status === 'completed' ? ` (${run.view.detections.length})` : ''}`;
    run.li.dataset.status = run.status;
    run.li.classList.toggle('shown', shown === run);
  }

  async function send(run) {
    const form = new FormData();
    form.set('image', run.file, run.name);
    for (const [name, value] of run.sent) form.set(name, value);
    try {
      const { status, body } = await api('/v1/detections', { method: 'POST', body: form });
      run.id = body.id;
      if (shown === run) say(`Detection ${body.id} ${status === 202 ? 'accepted' : 'answered'}${body.cached ? ' from the cache' : ''}.`);
      await follow(run, body);
    } catch (error) {
      run.status = 'error';
      paintRun(run);
      if (shown === run) say(`${run.name}: ${error.code ? error.code + ': ' : ''}${error.message}`, true);
    }
  }

  async function follow(run, first) {
    update(run, first.status); // what the submission answered; the stream goes on from there
    if (isFinal(first.status)) return finish(run, first);
    try {
      const res = await fetch(`/v1/detections/${encodeURIComponent(run.id)}/events`, { headers: headers({ accept: 'text/event-stream' }) });
      if (!res.ok || !res.body) throw new Error(`events answered ${res.status}`);
      for await (const message of serverSentEvents(res.body)) {
        const data = JSON.parse(message.data);
        if (message.event === 'status') update(run, data.status);
        else if (message.event === 'result') return finish(run, data);
        else if (message.event === 'error') throw new Error(data.error ? data.error.message : 'event stream failed');
      }
    } catch (error) {
      // No stream (an old proxy, a dropped connection): poll instead.
      if (shown === run) say(`Live status unavailable (${error.message}); polling.`);
    }
    for (;;) {
      const { body } = await api(`/v1/detections/${encodeURIComponent(run.id)}`);
      update(run, body.status);
      if (isFinal(body.status)) return finish(run, body);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  function isFinal(status) {
    return status === 'completed' || status === 'failed' || status === 'canceled';
  }

  function update(run, status) {
    const last = run.timeline[run.timeline.length - 1];
    if (!last || last.status !== status) run.timeline.push({ status, ms: Math.round(performance.now() - run.startedAt) });
    run.status = status;
    paintRun(run);
    if (shown === run) paintTimeline(run);
  }

  function finish(run, view) {
    run.view = view;
    update(run, view.status);
    if (shown === run) paintResult();
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

  // ---- showing a run (or a history entry)
  function show(run) {
    const previous = shown;
    shown = run;
    if (previous && previous.li) paintRun(previous);
    if (run.li) paintRun(run);
    paintTimeline(run);
    const sent = run.sent ? run.sent.find(([name]) => name === 'confidence') : null;
    setMinScore(sent ? Number(sent[1]) : run.view ? run.view.params.confidence : 0);
    paintPhoto(run);
    paintResult();
    paintCurl(run);
  }

  function paintTimeline(run) {
    els.timeline.replaceChildren(
      ...run.timeline.map(({ status, ms }) => {
        const li = document.createElement('li');
        li.dataset.status = status;
        li.className = status;
        const state = document.createElement('span');
        state.className = 'state';
        state.textContent = status;
        const time = document.createElement('span');
        time.className = 'time';
        time.textContent = ms === null ? '' : `+${ms} ms`;
        li.append(state, time);
        return li;
      }),
    );
  }

  function readPhoto(run) {
    // A data: URL, not a blob: one, so a strict img-src CSP ('self' data:) allows it.
    const reader = new FileReader();
    reader.onload = () => {
      run.photo = String(reader.result);
      if (shown === run) paintPhoto(run);
    };
    reader.readAsDataURL(run.file);
  }

  function paintPhoto(run) {
    if (run.photo) {
      els.photo.src = run.photo;
      els.figure.hidden = false;
      els.overlay.classList.remove('gone');
    } else if (!run.file && run.view && run.view.status === 'completed') {
      // A history entry: the photo is not in this browser; the server's annotated copy has the boxes drawn.
      els.figure.hidden = true;
      void annotatedPhoto(run);
    } else {
      els.figure.hidden = true;
    }
  }

  async function annotatedPhoto(run) {
    const res = await fetch(`/v1/detections/${encodeURIComponent(run.id)}/annotated?format=jpeg`, { headers: headers() }).catch(() => null);
    if (!res || !res.ok || shown !== run) return;
    const reader = new FileReader();
    reader.onload = () => {
      if (shown !== run) return;
      els.photo.src = String(reader.result);
      els.overlay.classList.add('gone');
      els.figure.hidden = false;
    };
    reader.readAsDataURL(await res.blob());
  }

  function setMinScore(value) {
    els.minScore.value = String(value);
    els.minScoreValue.textContent = Number(value).toFixed(2);
  }

  // Re-filters what is on screen; nothing is sent again.
  els.minScore.addEventListener('input', () => {
    els.minScoreValue.textContent = Number(els.minScore.value).toFixed(2);
    paintResult();
  });

  function colour(classId) {
    return `hsl(${((classId * 137.508) % 360).toFixed(1)} 85% 50%)`;
  }

  function paintResult() {
    const view = shown && shown.view;
    els.table.hidden = true;
    els.table.tBodies[0].replaceChildren();
    els.overlay.replaceChildren();
    els.annotated.disabled = true;
    els.summary.textContent = '';
    if (!view) return;
    if (view.status === 'failed') {
      say(`Failed: ${view.error ? `${view.error.code}: ${view.error.message}` : 'unknown error'}`, true);
      return;
    }
    if (view.status === 'canceled') {
      els.summary.textContent = 'canceled';
      return;
    }
    const min = Number(els.minScore.value);
    const kept = view.detections.filter((d) => d.score >= min);
    const timings = view.timings || {};
    els.summary.textContent = [
      `${kept.length} object${kept.length === 1 ? '' : 's'}`,
      `${view.model.name}`,
      view.cached ? 'from the cache' : timings.total !== undefined ? `${Math.round(timings.total)} ms in Argus` : '',
      view.provider ? `on ${view.provider}` : '',
      kept.length < view.detections.length ? `${view.detections.length - kept.length} under ${min.toFixed(2)} hidden` : '',
    ].filter(Boolean).join(' · ');
    drawBoxes(view, kept);
    fillTable(kept);
    els.annotated.disabled = false;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(name, attrs) {
    const el = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  }

  function drawBoxes(view, detections) {
    const { width, height } = view.image;
    els.overlay.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const unit = Math.max(2, Math.round(Math.min(width, height) / 300));
    const fontSize = Math.max(12, Math.round(Math.min(width, height) / 40));
    for (const d of [...detections].sort((a, b) => a.score - b.score)) {
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

  function fillTable(detections) {
    const body = els.table.tBodies[0];
    [...detections].sort((a, b) => b.score - a.score).forEach((d, i) => {
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
    els.table.hidden = detections.length === 0;
    if (detections.length === 0) els.summary.textContent += ' — nothing found';
  }

  els.annotated.addEventListener('click', async () => {
    const id = shown && shown.id;
    if (!id) return;
    try {
      const res = await fetch(`/v1/detections/${encodeURIComponent(id)}/annotated?format=png`, { headers: headers() });
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        throw new Error(body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
      }
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `${id}.png`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      say(`Annotated image: ${error.message}`, true);
    }
  });

  // ---- the request as curl
  /** A word for a POSIX shell: single-quoted unless it is plainly safe. */
  function shellWord(text) {
    return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
  }

  function paintCurl(run) {
    if (!run.sent) {
      els.curlBox.hidden = true;
      return;
    }
    const parts = ['curl', '-H', '"x-api-key: $ARGUS_API_KEY"', '-F', shellWord(`image=@${run.name}`)];
    for (const [name, value] of run.sent) parts.push('-F', shellWord(`${name}=${value}`));
    parts.push(shellWord(`${location.origin}/v1/detections`));
    els.curl.textContent = parts.join(' ');
    els.curlBox.hidden = false;
  }

  els.copyCurl.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(els.curl.textContent);
      say('The curl command is on the clipboard.');
    } catch {
      // No clipboard permission: select the text, for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(els.curl);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      say('Press Ctrl+C to copy the selected command.');
    }
  });

  // ---- the key's history, a page at a time
  async function loadHistory(fresh) {
    if (!els.apiKey.value.trim()) return;
    if (fresh) historyCursor = null;
    const query = new URLSearchParams({ limit: String(HISTORY_PAGE) });
    if (historyCursor) query.set('cursor', historyCursor);
    try {
      const { body } = await api(`/v1/detections?${query}`);
      const rows = body.items.map(historyRow);
      if (fresh) els.history.tBodies[0].replaceChildren(...rows);
      else els.history.tBodies[0].append(...rows);
      historyCursor = body.nextCursor;
      els.moreHistory.hidden = historyCursor === null;
      const any = els.history.tBodies[0].rows.length > 0;
      els.history.hidden = !any;
      els.historyEmpty.hidden = any;
    } catch (error) {
      if (error.status !== 401) say(`Could not read the history: ${error.message}`, true);
    }
  }

  function historyRow(view) {
    const tr = document.createElement('tr');
    tr.dataset.id = view.id;
    tr.dataset.status = view.status;
    tr.tabIndex = 0;
    const cell = (text, className) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (className) td.className = className;
      return td;
    };
    tr.append(cell(new Date(view.createdAt).toLocaleString()), cell(view.status, `status ${view.status}`), cell(view.model.name), cell(String(view.detections.length), 'num'), cell(view.id, 'id'));
    const open = () => showHistory(view);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') open();
    });
    return tr;
  }

  function showHistory(view) {
    const mine = runs.find((r) => r.id === view.id);
    if (mine) return show(mine);
    show({ file: null, name: view.id, photo: null, sent: null, id: view.id, status: view.status, view, timeline: [{ status: view.status, ms: null }], li: null });
  }

  els.moreHistory.addEventListener('click', () => void loadHistory(false));
  els.refreshHistory.addEventListener('click', () => void loadHistory(true));

  void loadModels();
  void loadHistory(true);
})();
