// Sentinel guard display. Plain script, no network beyond this terminal:
// one event stream of whole snapshots, one POST for overrides. Every text
// goes through textContent; nothing from a code is parsed as markup.
(function () {
  'use strict';

  const L = JSON.parse(document.getElementById('labels').textContent);
  const meta = (n) => document.querySelector('meta[name="' + n + '"]').content;
  const TOKEN = meta('sentinel-token');
  const EPOCH = meta('sentinel-epoch');
  const LANG = meta('sentinel-lang');
  const EXPLICIT = meta('sentinel-explicit') === 'true';
  const SVGNS = 'http://www.w3.org/2000/svg';

  const t = (k) => (k in L ? L[k] : k);
  const tf = (k, a) => t(k).replace('%s', a);
  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function svg(tag, attrs, parent) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // Shapes: a circle with a tick (pass), a triangle with "!" (check), an
  // octagon with a cross (stop), a scan frame (ready).
  const SHAPES = { admit: 'circle', refer: 'triangle', deny: 'octagon', ready: 'frame' };
  function icon(outcome) {
    const s = svg('svg', { viewBox: '0 0 100 100', 'aria-hidden': 'true', 'data-shape': SHAPES[outcome] });
    switch (outcome) {
      case 'admit':
        svg('circle', { cx: 50, cy: 50, r: 46, fill: '#fff' }, s);
        svg('path', { d: 'M26 52 L43 69 L75 33', fill: 'none', stroke: '#0b7a34', 'stroke-width': 12, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }, s);
        break;
      case 'refer':
        svg('polygon', { points: '50,5 97,92 3,92', fill: '#111', 'stroke-linejoin': 'round' }, s);
        svg('rect', { x: 44, y: 32, width: 12, height: 34, rx: 4, fill: '#ffb000' }, s);
        svg('circle', { cx: 50, cy: 78, r: 7, fill: '#ffb000' }, s);
        break;
      case 'deny':
        svg('polygon', { points: '30,3 70,3 97,30 97,70 70,97 30,97 3,70 3,30', fill: '#fff' }, s);
        svg('path', { d: 'M31 31 L69 69 M69 31 L31 69', stroke: '#c8102e', 'stroke-width': 13, 'stroke-linecap': 'round' }, s);
        break;
      default:
        svg('path', { d: 'M8 30 V8 H30 M70 8 H92 V30 M92 70 V92 H70 M30 92 H8 V70', fill: 'none', stroke: '#fff', 'stroke-width': 7, 'stroke-linecap': 'round' }, s);
        svg('rect', { x: 30, y: 30, width: 16, height: 16, fill: '#fff' }, s);
        svg('rect', { x: 54, y: 30, width: 16, height: 16, fill: '#fff' }, s);
        svg('rect', { x: 30, y: 54, width: 16, height: 16, fill: '#fff' }, s);
        svg('rect', { x: 58, y: 58, width: 8, height: 8, fill: '#fff' }, s);
    }
    return s;
  }

  function bannerIcon(kind) {
    const s = svg('svg', { viewBox: '0 0 100 100', 'aria-hidden': 'true' });
    if (kind === 'manual') {
      svg('polygon', { points: '30,3 70,3 97,30 97,70 70,97 30,97 3,70 3,30', fill: '#fff' }, s);
      svg('rect', { x: 22, y: 42, width: 56, height: 16, fill: '#c8102e' }, s);
    } else {
      svg('polygon', { points: '50,5 97,92 3,92', fill: '#111' }, s);
      svg('rect', { x: 44, y: 32, width: 12, height: 34, rx: 4, fill: '#ffb000' }, s);
      svg('circle', { cx: 50, cy: 78, r: 7, fill: '#ffb000' }, s);
    }
    return s;
  }

  // State: the last snapshot, when it came (performance.now()) and the
  // terminal's clock relative to ours.
  let snap = null;
  let recvAt = 0;
  let skew = 0;

  function remaining(v) {
    return v.remaining_ms - (performance.now() - recvAt);
  }

  // ----- rendering -----

  function renderBanners() {
    const b = $('banners');
    b.replaceChildren();
    if (!snap) return;
    if (snap.manual) {
      const d = el('div', 'banner manual');
      d.id = 'banner-manual';
      d.append(bannerIcon('manual'), el('span', null, t('banner.manual')));
      b.appendChild(d);
    }
    if (snap.status && snap.status.revoked) {
      const d = el('div', 'banner manual');
      d.id = 'banner-revoked';
      d.append(bannerIcon('manual'), el('span', null, t('banner.revoked') + ' (' + snap.status.revoked + ')'));
      b.appendChild(d);
    } else if (snap.status && snap.status.no_keys) {
      const d = el('div', 'banner notenrolled');
      d.id = 'banner-nokeys';
      d.append(bannerIcon('notenrolled'), el('span', null, t('banner.nokeys')));
      b.appendChild(d);
    } else if (snap.status && snap.status.not_enrolled) {
      const d = el('div', 'banner notenrolled');
      d.id = 'banner-notenrolled';
      d.append(bannerIcon('notenrolled'), el('span', null, t('banner.notenrolled') + (snap.status.enrol_note ? ' ' + snap.status.enrol_note : '')));
      b.appendChild(d);
    }
    if (snap.status && snap.status.journal_replaced) {
      const d = el('div', 'banner notenrolled');
      d.id = 'banner-journal';
      d.append(bannerIcon('notenrolled'), el('span', null, t('banner.journal')));
      b.appendChild(d);
    }
  }

  function renderTop() {
    $('site').textContent = snap.site || t('title');
    const net = $('net');
    const sync = $('sync');
    const st = snap.status;
    if (!st) {
      net.className = 'pill';
      net.textContent = t('net.unknown');
      sync.textContent = '';
    } else {
      net.className = 'pill ' + (st.online ? 'good' : 'bad');
      net.textContent = (st.online ? '● ' : '✕ ') + t(st.online ? 'net.online' : st.sync_failing ? 'net.failing' : 'net.offline');
      sync.textContent = st.last_sync || t('sync.never');
    }
    const pl = $('pinlock');
    pl.hidden = !(st && st.overrides_locked);
    pl.textContent = st && st.overrides_locked ? '! ' + st.overrides_locked : '';
    const cw = $('clockwarn');
    cw.hidden = !(st && st.clock_untrusted);
    const why = st && st.clock_reason ? t('clock.why.' + st.clock_reason) : '';
    cw.textContent = '! ' + t('clock.untrusted') + (why ? ': ' + why : '');
  }

  function laneView(lane) {
    const v = lane.verdict && remaining(lane.verdict) > 0 ? lane.verdict : null;
    const outcome = v ? v.outcome : 'ready';
    const p = el('section', 'lane');
    p.dataset.lane = lane.name;
    p.dataset.outcome = outcome;

    const head = el('div', 'lanehead');
    head.appendChild(el('span', 'lanename', t('lane') + ' ' + lane.name));
    if (v && v.colour !== 'none') {
      const chip = el('span', 'chip codecolour');
      chip.append(el('span', 'dot ' + v.colour), el('span', null, t('code') + t('code.sep') + t('colour.' + v.colour)));
      head.appendChild(chip);
    }
    p.appendChild(head);

    // The shape, then the word with what it means beneath.
    const big = el('div', 'big');
    const words = el('div', 'words');
    let sub = t('sub.' + outcome);
    if (v && v.override) sub = t('sub.override') + t('code.sep') + v.override;
    if (v && v.manual) sub = t('sub.manual');
    words.append(el('div', 'word', t('word.' + outcome)), el('div', 'sub', sub));
    big.append(icon(outcome), words);
    p.appendChild(big);
    if (!v) return p;
    if (v.name) p.appendChild(el('div', 'name', v.name));

    if (v.temp_state !== 'not-taken' || v.temp) {
      const temp = el('div', 'temp');
      temp.appendChild(el('span', 'label', t('temp')));
      if (v.temp_state === 'ok') {
        temp.appendChild(el('span', 'value', v.temp));
        if (v.temp_high) temp.appendChild(el('span', 'high', '▲ ' + t('temp.high')));
      } else if (v.temp_state === 'unavailable') {
        temp.appendChild(el('span', 'note', t('temp.fault')));
      } else if (v.temp_state === 'retake') {
        temp.appendChild(el('span', 'note', t('temp.retake')));
      }
      p.appendChild(temp);
    }
    // The manual procedure's banner says it all; the message would repeat it.
    if (outcome !== 'admit' && v.message && !v.manual) p.appendChild(el('div', 'message', v.message));
    // The passage reference the holder may photograph for an appeal.
    if (outcome !== 'admit' && v.ref) {
      const ref = el('div', 'ref');
      if (v.ref_qr) {
        const img = el('img', 'refqr');
        img.src = v.ref_qr;
        img.alt = t('ref.alt');
        ref.appendChild(img);
      }
      const words = el('div', 'refwords');
      words.append(el('div', 'reflabel', t('ref.label')), el('div', 'refcode', v.ref));
      ref.appendChild(words);
      p.appendChild(ref);
    }

    const foot = el('div', 'foot');
    const txt = el('span', 'cdtext');
    foot.appendChild(txt);
    const bar = el('div', 'bar');
    const fill = el('div');
    bar.appendChild(fill);
    foot.appendChild(bar);
    const reasons = v.override_reasons || [];
    if (snap.override && outcome !== 'admit' && !v.manual && reasons.length) {
      const b = el('button', 'override', t('override.button'));
      b.type = 'button';
      b.addEventListener('click', () => openPad(lane.name, reasons));
      foot.appendChild(b);
    }
    if (v.override_note) p.appendChild(el('div', 'overridenote', v.override_note));
    p.appendChild(foot);
    p._countdown = { v, txt, fill };
    updateCountdown(p);
    return p;
  }

  function updateCountdown(p) {
    const c = p._countdown;
    if (!c) return true;
    const r = remaining(c.v);
    if (r <= 0) return false;
    c.txt.textContent = tf('ready.in', String(Math.ceil(r / 1000)));
    c.fill.style.width = Math.max(0, Math.min(100, (100 * r) / c.v.hold_ms)) + '%';
    return true;
  }

  function renderLanes() {
    const main = $('lanes');
    main.replaceChildren(...snap.lanes.map(laneView));
  }

  // The guard's instruction is never cut: while a lane's content does not
  // fit, shrink the shape, word, name and temperature (to half), then the
  // sentence itself (to 40 %). Without enough room even then, the sentence
  // still wraps whole and the rest gives way.
  function overflows(p) {
    return p.scrollHeight > p.clientHeight || p.scrollWidth > p.clientWidth;
  }
  function fitLane(p) {
    p.style.removeProperty('--fit');
    p.style.removeProperty('--mfit');
    if (!overflows(p)) return;
    for (let i = 9; i >= 5 && overflows(p); i--) p.style.setProperty('--fit', String(i / 10));
    for (let i = 9; i >= 4 && overflows(p); i--) p.style.setProperty('--mfit', String(i / 10));
  }
  // Once everything around the lanes is laid out: the footer's height
  // decides theirs.
  function fitLanes() {
    for (const p of document.querySelectorAll('#lanes .lane')) fitLane(p);
  }
  window.addEventListener('resize', fitLanes);

  function renderCounts() {
    const c = snap.counts;
    const box = $('counts');
    box.replaceChildren();
    box.appendChild(el('span', 'k today', t('count.today')));
    const item = (sym, key, n) => {
      const k = el('span', 'k');
      k.dataset.count = key;
      k.append(el('span', 'sym', sym), el('span', null, t('count.' + key)), el('span', 'n', String(n)));
      box.appendChild(k);
    };
    item('✓', 'admitted', c.admitted);
    item('✕', 'refused', c.refused);
    item('!', 'referred', c.referred);
    item('»', 'overrides', c.overrides);
  }

  function stItem(parent, cls, text) {
    const s = el('span', 'st ' + cls, text);
    parent.appendChild(s);
    return s;
  }

  function renderHealth() {
    const h = $('health');
    h.replaceChildren();
    const multi = snap.lanes.length > 1;
    for (const lane of snap.lanes) {
      for (const dev of ['scanner', 'camera', 'thermometer']) {
        const state = lane.devices[dev] || 'unknown';
        if (state === 'none') continue;
        const cls = state === 'ok' ? 'ok' : state === 'fault' ? 'bad' : 'unknown';
        let words = t('dev.' + dev) + ' ' + t('dev.' + state);
        // A broken camera says what to do: the lane's scanner still
        // reads, or there is nothing left but the guard's eyes.
        if (dev === 'camera' && state === 'fault') {
          const scans = lane.devices.scanner && lane.devices.scanner !== 'none';
          words = scans ? t('dev.camerafault') : t('dev.camerafault.alone');
        }
        const s = stItem(h, cls, (multi ? lane.name + ' ' : '') + words);
        s.dataset.device = lane.name + '/' + dev;
        s.dataset.state = state;
      }
    }
    if (snap.status) {
      if (snap.status.bundles.length) h.appendChild(el('span', 'sep', '|'));
      for (const b of snap.status.bundles) {
        const cls = { fresh: 'ok', grace: 'warn', stale: 'bad', blocked: 'bad' }[b.freshness] || 'unknown';
        const s = stItem(h, cls, t('bundle.' + b.kind) + ' ' + t('fresh.' + b.freshness));
        s.dataset.bundle = b.kind;
        s.dataset.state = b.freshness;
        if (b.no_value_sets) {
          const v = stItem(h, 'warn', t('bundle.novaluesets'));
          v.dataset.bundle = 'value-sets';
          v.dataset.state = 'none';
        }
        if (b.eu_rules) {
          // The EU business rules the policy holds EU DCCs to: country,
          // rules valid now of those carried.
          const r = stItem(h, b.eu_rules_valid ? 'ok' : 'warn',
            t('bundle.eurules') + ' ' + b.eu_country + ' ' + (b.eu_rules_valid || 0) + '/' + b.eu_rules + ' ' + t('bundle.eurulesvalid'));
          r.dataset.bundle = 'eu-rules';
          r.dataset.state = b.eu_rules_valid ? 'valid' : 'none-valid';
        }
      }
    }
  }

  function render() {
    if (!snap) return;
    renderBanners();
    renderTop();
    renderLanes();
    renderCounts();
    renderHealth();
    renderClock();
    fitLanes();
  }

  // The terminal's clock in the site's time zone.
  function renderClock() {
    const d = new Date(Date.now() + skew + snap.tz_offset * 1000);
    const pad = (n) => String(n).padStart(2, '0');
    $('clock').textContent = pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds());
  }

  function tick() {
    if (snap) renderClock();
    let expired = false;
    for (const p of document.querySelectorAll('#lanes .lane')) {
      if (!updateCountdown(p)) expired = true;
    }
    if (expired) { renderLanes(); fitLanes(); }
    if (es && performance.now() - lastEvent > staleAfter) {
      reconnect(); // no event, not even a ping: the connection is dead
    }
  }

  // ----- the event stream -----

  let es = null;
  let lastEvent = performance.now();
  let backoff = 1000;
  let retryTimer = 0;
  let disconnectTimer = 0;
  const staleAfter = 40000; // a ping comes every 15 s

  function setConnected(ok) {
    clearTimeout(disconnectTimer);
    if (ok) {
      document.body.classList.remove('connecting');
      return;
    }
    // A blip of a second does not flash the overlay.
    disconnectTimer = setTimeout(() => document.body.classList.add('connecting'), 1500);
  }

  function onSnapshot(e) {
    lastEvent = performance.now();
    const s = JSON.parse(e.data);
    if (s.epoch !== EPOCH || (!EXPLICIT && s.site_lang !== LANG)) {
      // The daemon restarted (a new token, perhaps new assets) or the
      // site's language changed.
      location.reload();
      return;
    }
    snap = s;
    recvAt = performance.now();
    skew = s.now_ms - Date.now();
    backoff = 1000;
    setConnected(true);
    render();
  }

  function connect() {
    clearTimeout(retryTimer);
    lastEvent = performance.now();
    es = new EventSource('/events' + (EXPLICIT ? '?lang=' + encodeURIComponent(LANG) : ''));
    es.addEventListener('snapshot', onSnapshot);
    es.addEventListener('ping', (e) => {
      lastEvent = performance.now();
      try { skew = JSON.parse(e.data).now_ms - Date.now(); } catch (_) { /* keep the old skew */ }
    });
    es.onopen = () => {
      // Connected again; a stream that resumes at the version the page
      // has sends no snapshot, so this is the sign.
      lastEvent = performance.now();
      backoff = 1000;
      setConnected(true);
    };
    es.onerror = () => {
      setConnected(false);
      if (es.readyState === EventSource.CLOSED) reconnect(); // the browser gave up
    };
  }

  function reconnect() {
    if (es) es.close();
    es = null;
    setConnected(false);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10000);
  }

  // ----- override pad -----

  let padLane = '';
  let pin = '';
  let reason = '';
  let padBusy = false;

  function padMessage(text, good) {
    const m = $('padmsg');
    m.hidden = !text;
    m.textContent = text || '';
    m.className = 'padmsg ' + (good ? 'good' : 'bad');
  }

  function renderPin() {
    $('pindots').textContent = '●'.repeat(pin.length) || '\u00a0';
  }

  function openPad(lane, reasons) {
    padLane = lane;
    pin = '';
    reason = '';
    padBusy = false;
    $('padtitle').textContent = tf('override.title', lane);
    const rs = $('reasons');
    rs.replaceChildren();
    for (const r of reasons) {
      const b = el('button', null, r.label);
      b.type = 'button';
      b.dataset.reason = r.code;
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('click', () => {
        reason = r.code;
        for (const o of rs.children) o.setAttribute('aria-pressed', String(o === b));
      });
      rs.appendChild(b);
    }
    if (reasons.length === 1) rs.firstChild.click(); // the only reason allowed
    renderPin();
    padMessage('');
    $('padsubmit').disabled = false;
    $('pad').hidden = false;
  }

  function closePad() {
    $('pad').hidden = true;
    pin = '';
    renderPin();
  }

  function buildKeys() {
    const keys = $('keys');
    const add = (label, fn, key) => {
      const b = el('button', null, label);
      b.type = 'button';
      b.dataset.key = key;
      b.addEventListener('click', fn);
      keys.appendChild(b);
    };
    for (const d of ['1', '2', '3', '4', '5', '6', '7', '8', '9']) {
      add(d, () => { if (pin.length < 12) { pin += d; renderPin(); } }, d);
    }
    add(t('override.clear'), () => { pin = ''; renderPin(); }, 'clear');
    add('0', () => { if (pin.length < 12) { pin += '0'; renderPin(); } }, '0');
    add('⌫', () => { pin = pin.slice(0, -1); renderPin(); }, 'back');
  }

  async function submitPad() {
    if (padBusy) return;
    if (pin.length < 6) { padMessage(t('override.badpin')); return; }
    if (!reason) { padMessage(t('override.noreason')); return; }
    padBusy = true;
    $('padsubmit').disabled = true;
    let res;
    try {
      const r = await fetch('/override' + (EXPLICIT ? '?lang=' + encodeURIComponent(LANG) : ''), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Sentinel-Token': TOKEN },
        body: JSON.stringify({ lane: padLane, pin: pin, reason: reason }),
        cache: 'no-store',
        credentials: 'same-origin',
      });
      res = await r.json().catch(() => ({ ok: false, message: t('override.failed') }));
    } catch (_) {
      res = { ok: false, message: t('override.failed') };
    }
    padBusy = false;
    $('padsubmit').disabled = false;
    pin = '';
    renderPin();
    if (res.ok) {
      padMessage(res.message, true);
      setTimeout(closePad, 1200);
    } else {
      padMessage(res.message || t('override.failed'));
    }
  }

  buildKeys();
  $('padcancel').addEventListener('click', closePad);
  $('padsubmit').addEventListener('click', submitPad);
  document.addEventListener('keydown', (e) => {
    if ($('pad').hidden) return;
    if (/^[0-9]$/.test(e.key) && pin.length < 12) { pin += e.key; renderPin(); }
    else if (e.key === 'Backspace') { pin = pin.slice(0, -1); renderPin(); }
    else if (e.key === 'Escape') closePad();
    else if (e.key === 'Enter') submitPad();
  });

  connect();
  setInterval(tick, 250);
})();
