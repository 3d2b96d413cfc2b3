// The ops page of sentinel-central. It holds no data: every call sends the
// operator's bearer token, kept in this tab's sessionStorage only (never
// in a URL or a cookie).
'use strict';

(() => {
  const KEY = 'sentinel-ops-token';
  const $ = (id) => document.getElementById(id);

  const token = () => sessionStorage.getItem(KEY) || '';

  // explain turns a refused or failed call into words an operator acts on.
  async function explain(resp) {
    let detail = '';
    try {
      const body = await resp.json();
      detail = body && body.error ? body.error : '';
    } catch (_) { /* not JSON */ }
    switch (resp.status) {
      case 401:
        return 'The centre did not accept this token (401): it is missing, mistyped or not in the centre\'s token file. Enter your ops token again.';
      case 403:
        return 'This token is not an ops token (403): its role may not see the fleet, export or trace. Ask the centre\'s administrator for an ops token.';
      case 400:
        return 'The centre refused the request (400): ' + detail;
      default:
        return 'The centre answered ' + resp.status + (detail ? ': ' + detail : '') + '.';
    }
  }

  // call sends one data request with the bearer token.
  async function call(method, path, body) {
    const t = token();
    if (!t) {
      throw new Error('Enter your ops token first.');
    }
    const init = { method, headers: { Authorization: 'Bearer ' + t }, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new Error('The centre cannot be reached: ' + e.message);
    }
    if (!resp.ok) {
      throw new Error(await explain(resp));
    }
    return resp;
  }

  function say(id, text, kind) {
    const el = $(id);
    el.textContent = text;
    el.className = 'msg' + (kind ? ' ' + kind : '');
  }

  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  const count = (n, one, many) => n + ' ' + (n === 1 ? one : many);
  const pad = (n) => String(n).padStart(2, '0');
  function utc(s) {
    if (!s) return 'never';
    const d = new Date(s);
    if (isNaN(d)) return s;
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
      pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds());
  }

  // offset renders a nanosecond duration as +1m30s.
  function offset(ns) {
    const s = Math.round(Number(ns) / 1e9);
    const sign = s < 0 ? '−' : '+';
    const a = Math.abs(s);
    const m = Math.floor(a / 60);
    return sign + (m ? m + 'm' : '') + pad(a % 60) + 's';
  }

  function clear(tbody) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
  }

  function showToken() {
    const st = $('tokenstate');
    if (token()) {
      st.textContent = 'Token set for this tab.';
      st.className = 'ok';
    } else {
      st.textContent = 'No token: the page shows nothing until you enter one.';
      st.className = '';
    }
  }

  async function loadFleet() {
    const tbody = document.querySelector('#fleettable tbody');
    clear(tbody);
    if (!token()) {
      say('fleetmsg', 'Enter your ops token to see the fleet.');
      return;
    }
    say('fleetmsg', 'Loading…');
    try {
      const resp = await call('GET', '/v1/ops/devices');
      const body = await resp.json();
      const ds = body.devices || [];
      for (const d of ds) {
        const tr = document.createElement('tr');
        tr.dataset.device = d.id;
        cell(tr, d.id);
        cell(tr, d.site || '—', d.site ? '' : 'dim');
        cell(tr, utc(d.last_seen), d.last_seen ? '' : 'dim');
        const marks = d.marks || [];
        const acked = marks.reduce((n, m) => n + Number(m.high_water ?? m.HighWater ?? 0), 0);
        cell(tr, String(acked), 'num');
        cell(tr, String(marks.length), 'num');
        const forks = d.forks || [];
        const last = forks[forks.length - 1];
        cell(tr, forks.length ? forks.length + ' (last at record ' + last.at + ', ' + utc(last.found) + ')' : '—',
          forks.length ? 'warn' : 'dim');
        tbody.appendChild(tr);
      }
      say('fleetmsg', count(ds.length, 'terminal', 'terminals') + '.', ds.length ? 'ok' : '');
    } catch (e) {
      say('fleetmsg', e.message, 'error');
    }
  }

  // isoUTC reads a datetime-local value as UTC.
  function isoUTC(v) {
    if (!v) return '';
    const d = new Date(v + (v.length === 16 ? ':00' : '') + 'Z');
    return isNaN(d) ? '' : d.toISOString();
  }

  function filename(format) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return 'sentinel-export-' + stamp + (format === 'jsonl' ? '.jsonl' : '.csv');
  }

  async function runExport(ev) {
    ev.preventDefault();
    const from = isoUTC($('exfrom').value), to = isoUTC($('exto').value);
    const purpose = $('expurpose').value.trim();
    const format = $('exformat').value;
    if (!from || !to) return say('exportmsg', 'Give both From and To.', 'error');
    if (to <= from) return say('exportmsg', 'To must be after From.', 'error');
    if (!purpose) return say('exportmsg', 'Give the purpose: every export is recorded in the audit log with it.', 'error');
    const req = { from, to, format, purpose };
    const site = $('exsite').value.trim(), device = $('exdevice').value.trim();
    if (site) req.site = site;
    if (device) req.device = device;
    say('exportmsg', 'Exporting…');
    try {
      const resp = await call('POST', '/v1/ops/export', req);
      const rows = resp.headers.get('X-Sentinel-Rows');
      const blob = await resp.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = filename(format);
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say('exportmsg', 'Exported ' + (rows === null ? '?' : count(Number(rows), 'passage', 'passages')) + ' to ' + a.download + ' (recorded in the audit log).', 'ok');
    } catch (e) {
      say('exportmsg', e.message, 'error');
    }
  }

  async function runTrace(ev) {
    ev.preventDefault();
    const holder = $('trholder').value.trim();
    const days = Number($('trdays').value);
    const window = $('trwindow').value.trim();
    const purpose = $('trpurpose').value.trim();
    const tbody = document.querySelector('#tracetable tbody');
    clear(tbody);
    if (!holder) return say('tracemsg', 'Give the holder to trace.', 'error');
    if (!(days >= 1 && days <= 366)) return say('tracemsg', 'Days back: a whole number from 1 to 366.', 'error');
    if (!/^\d+(\.\d+)?(ms|s|m|h)$/.test(window)) return say('tracemsg', 'Window: a duration such as 30m, 90s or 1h.', 'error');
    if (!purpose) return say('tracemsg', 'Give the purpose: every trace is recorded in the audit log with it.', 'error');
    const to = new Date(Date.now() + 60000);
    const from = new Date(to.getTime() - days * 86400000);
    say('tracemsg', 'Tracing…');
    try {
      const resp = await call('POST', '/v1/ops/trace', { holder, from: from.toISOString(), to: to.toISOString(), window, purpose });
      const res = await resp.json();
      const visits = res.visits || [];
      let contacts = 0;
      for (const v of visits) {
        const cs = v.contacts || [];
        contacts += cs.length;
        const rows = cs.length ? cs : [null];
        for (const c of rows) {
          const tr = document.createElement('tr');
          tr.className = c ? 'contact' : 'novisit';
          cell(tr, utc(v.time));
          cell(tr, v.site);
          cell(tr, v.device);
          cell(tr, v.decision);
          if (c) {
            cell(tr, c.holder);
            cell(tr, c.device);
            cell(tr, utc(c.time));
            cell(tr, offset(c.delta), 'num');
          } else {
            cell(tr, 'no contact in the window', 'dim').colSpan = 4;
          }
          tbody.appendChild(tr);
        }
      }
      say('tracemsg', holder + ': ' + count(visits.length, 'visit', 'visits') + ', ' + count(contacts, 'contact', 'contacts') + ' in the last ' + count(days, 'day', 'days') + ' (±' + window + '). Recorded in the audit log.', 'ok');
    } catch (e) {
      say('tracemsg', e.message, 'error');
    }
  }

  function setDefaults() {
    const now = new Date();
    const iso = (d) => d.toISOString().slice(0, 16);
    if (!$('exto').value) $('exto').value = iso(new Date(now.getTime() + 60000));
    if (!$('exfrom').value) $('exfrom').value = iso(new Date(now.getTime() - 14 * 86400000));
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('tokenform').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = $('token').value.trim();
      $('token').value = '';
      if (v) sessionStorage.setItem(KEY, v);
      showToken();
      loadFleet();
    });
    $('forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY);
      showToken();
      loadFleet();
      clear(document.querySelector('#tracetable tbody'));
      say('tracemsg', '');
      say('exportmsg', '');
    });
    $('refresh').addEventListener('click', loadFleet);
    $('exportform').addEventListener('submit', runExport);
    $('traceform').addEventListener('submit', runTrace);
    setDefaults();
    showToken();
    loadFleet();
  });
})();
