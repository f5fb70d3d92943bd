/* cookieconsent: enhances the server-rendered banner. The server has already decided and blocked;
   this only records choices without a page load and wakes up what they allow. */
(() => {
  'use strict';
  const d = document, html = d.documentElement, state = d.getElementById('cookieconsent-state');
  const $ = (s, r = d) => r.querySelector(s), $$ = (s, r = d) => [...r.querySelectorAll(s)];
  let S;
  try { S = JSON.parse(state.textContent); } catch (e) { return; }
  const P = S.prefix, root = d.getElementById('cookieconsent'), q = s => root && $(s, root);
  const banner = q('.cc-banner'), live = q('.cc-status'), fab = q('.cc-fab');
  // The settings dialog: in the page with the first layer, else fetched when first needed (load).
  let dlg, back, form, head, loading;
  const found = () => { dlg = q('[role=dialog]'); back = q('.cc-backdrop'); form = q('.cc-dform'); head = dlg && $('h2', dlg); return dlg; };
  found();
  const copy = () => JSON.parse(JSON.stringify(S)), on = c => !!S.categories[c];
  const shown = e => e && e.isConnected && e.getClientRects().length;
  let opener, busy, viewed, last = 0, clicks = 0;

  const say = m => {
    if (!live) return;
    live.textContent = m;
    clearTimeout(say.t);
    say.t = setTimeout(() => { live.textContent = ''; }, 8e3);
  };
  // Keep focused elements clear of the fixed first layer (WCAG 2.4.11), down to the end of the page.
  const pad = () => { html.style.scrollPaddingBottom = html.style.paddingBottom = shown(banner) ? banner.offsetHeight + 'px' : ''; };

  // Wake one inert element; resolves when an external script has loaded, to keep document order.
  const wake = e => new Promise(done => {
    const ph = $(`.cc-placeholder[data-cc-for="${e.dataset.ccId}"]`), src = e.dataset.src;
    let n = e;
    if (e.tagName == 'SCRIPT') {
      n = d.createElement('script');
      for (const a of e.attributes) if (!/^(type|data-(cc|type|src))$/.test(a.name)) n.setAttribute(a.name, a.value);
      n.nonce = e.nonce;
      if (e.dataset.type) n.type = e.dataset.type;
      if (src) { n.async = false; n.onload = n.onerror = done; n.src = src; } else n.text = e.text;
      e.replaceWith(n);
      if (!src) done();
    } else {
      for (const a of ['src', 'srcset', 'srcdoc', 'data', 'poster', 'href', 'imagesrcset', 'background']) {
        const v = e.getAttribute('data-' + a);
        if (v != null) { e.removeAttribute('data-' + a); e.setAttribute(a, v); }
      }
      e.removeAttribute('data-cc');
      if (e.tagName == 'SOURCE' && e.parentNode.load) e.parentNode.load();
      done();
    }
    if (ph) {
      const f = ph.contains(d.activeElement);
      ph.remove();
      if (f) n.focus();
    }
  });
  const wakeAll = async list => { for (const e of list) if (e.isConnected && e.dataset.cc == 'blocked') await wake(e); };

  // Beacons, only while the category that gates them is granted.
  const beacon = o => S.beacon && on(S.beacon) && navigator.sendBeacon &&
    navigator.sendBeacon(P + '/events', new Blob([JSON.stringify({ ...o, path: location.pathname, ts: Date.now() })], { type: 'application/json' }));
  const view = () => { if (!viewed) viewed = beacon({ type: 'page_view', referrer: d.referrer }); };

  const sync = () => { for (const c of $$('input[name=category]', form)) c.checked = on(c.value); };

  const here = () => encodeURIComponent(location.pathname + location.search);
  // Resolves to the dialog, or to nothing when it cannot be had (then the preference page does).
  const load = () => dlg ? Promise.resolve(dlg) : loading || (loading = !root ? Promise.resolve() :
    fetch(P + '/dialog?next=' + here(), { credentials: 'same-origin' })
      .then(r => { if (!r.ok) throw r; return r.text(); })
      .then(t => {
        if (dlg) return dlg;
        const x = d.createElement('template');
        x.innerHTML = t;
        if (!$('[role=dialog]', x.content) || !$('.cc-backdrop', x.content)) throw x;
        root.insertBefore(x.content, fab);
        return found();
      })
      .catch(() => { loading = null; }));
  const show = async o => {
    const by = o || d.activeElement;
    if (!dlg && !await load()) { location.href = P + '/preferences?next=' + here(); return; }
    if (!dlg.hidden) return;
    sync();
    say('');
    opener = by;
    dlg.hidden = back.hidden = false;
    html.classList.add('cc-lock');
    head.focus();
  };
  const close = () => {
    if (!dlg || dlg.hidden) return;
    dlg.hidden = back.hidden = true;
    html.classList.remove('cc-lock');
    (shown(opener) ? opener : fab).focus();
    opener = null;
  };

  const decide = async (action, categories = [], gpc_override = false) => {
    if (busy) return;
    busy = 1;
    const old = S.categories;
    try {
      const r = await fetch(P, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action, categories, gpc_override }), credentials: 'same-origin',
      });
      if (!r.ok) throw r;
      S = { ...S, ...await r.json() };
      delete S.consent_id; // not for the page's other scripts
    } catch (e) {
      say(root && root.dataset.error);
      return;
    } finally { busy = 0; }
    const inside = root && root.contains(d.activeElement);
    if (banner) { banner.hidden = true; pad(); }
    close();
    // A hidden button keeps being the active element: move focus on to "Cookie settings".
    if (inside && fab && !shown(d.activeElement)) fab.focus();
    say(root && root.dataset.saved);
    if (window.gtag) {
      const u = {};
      for (const [type, c] of Object.entries(S.consent_mode || {})) u[type] = on(c) ? 'granted' : 'denied';
      window.gtag('consent', 'update', u);
    }
    d.dispatchEvent(new CustomEvent('cookieconsent:change', { detail: copy() }));
    // A withdrawn category: reload, so the server expires its cookies and nothing of it keeps running;
    // under an enforced CSP a new grant too (the page's policy allows what it was served under). The
    // reloaded page says "saved" again.
    if (Object.keys(old).some(c => old[c] ? !on(c) : S.csp && on(c))) {
      try { sessionStorage.ccSaved = 1; } catch (e) {}
      location.reload();
    } else { view(); wakeAll($$('[data-cc=blocked]').filter(e => on(e.dataset.category))); }
    return copy();
  };

  d.addEventListener('submit', e => {
    const f = e.target, b = e.submitter;
    if (!root || !root.contains(f) || !b) return;
    e.preventDefault();
    const a = b.value;
    decide(a, a == 'custom' ? $$('input[name=category]:checked', f).map(c => c.value) : [],
      a == 'custom' && !!$('[name=gpc_override]', f));
  });

  // A category refused because of GPC is granted only from the settings, next to their notice.
  const allowOne = async (t, allow) => {
    if (S.gpc && (dlg || await load()) && $(`#cc-${allow}-g`)) show(t);
    else decide('custom', [...Object.keys(S.categories).filter(on), allow]);
  };

  d.addEventListener('click', e => {
    if (e.target == back) return close();
    const t = e.target.closest && e.target.closest('a[href],button');
    if (!t) return;
    if (S.beacon && on(S.beacon) && clicks < 50 && Date.now() - last >= 500) {
      last = Date.now();
      clicks++;
      beacon({ type: 'click', target: (typeof t.href == 'string' ? t.href.split(/[?#]/)[0] :
        t.tagName.toLowerCase() + (t.id ? '#' + t.id : '') + [...t.classList].map(c => '.' + c).join('')).slice(0, 200) });
    }
    const ph = t.closest('[data-cc-for]'), allow = t.dataset.ccAllow;
    if (t.matches('[data-cc-close]')) close();
    else if (ph && t.matches('[data-cc-load]')) wakeAll($$(`[data-cc-id="${ph.dataset.ccFor}"]`));
    else if (allow) allowOne(t, allow);
    else if (root && (t.matches('[data-cc-open]') || t.pathname == P + '/preferences' && t.host == location.host) &&
      !(e.ctrlKey || e.metaKey || e.shiftKey || e.altKey)) {
      e.preventDefault();
      show(t);
    }
  });

  d.addEventListener('keydown', e => {
    if (e.key == ' ' && e.target.matches && e.target.matches('a[data-cc-open]') && root) { e.preventDefault(); show(e.target); }
    if (!dlg || dlg.hidden) return;
    if (e.key == 'Escape') { e.preventDefault(); close(); }
    if (e.key != 'Tab') return;
    const f = $$('a[href],button:not(:disabled),input:not(:disabled),summary', dlg).filter(shown),
      a = d.activeElement, first = f[0], end = f[f.length - 1];
    if (e.shiftKey ? a == first || a == head || !dlg.contains(a) : a == end) {
      e.preventDefault();
      (e.shiftKey ? end : first).focus();
    }
  });
  d.addEventListener('focusin', e => {
    const t = e.target;
    if (t.matches && t.matches('[data-cc-open]')) load(); // fetched while the visitor is on the way to it
    if (dlg && !dlg.hidden && !dlg.contains(t)) return head.focus();
    // Step the floating button aside while it would cover the focused element.
    if (!fab || root.contains(t) || !t.getBoundingClientRect) return;
    const r = t.getBoundingClientRect(), f = fab.getBoundingClientRect();
    fab.classList.toggle('cc-away', r.left < f.right && r.right > f.left && r.top < f.bottom && r.bottom > f.top);
  });

  // Back from the page cache with a decision made elsewhere meanwhile: start again from the server.
  addEventListener('pageshow', e => {
    if (e.persisted) fetch(P + '/state', { credentials: 'same-origin' }).then(r => r.json())
      .then(n => { if (JSON.stringify(n.categories) != JSON.stringify(S.categories)) location.reload(); }, () => {});
  });

  // With the script, "Settings" opens the dialog instead of going to the preference page.
  if (root) for (const a of $$('a[data-cc-open]')) {
    a.setAttribute('role', 'button');
    a.addEventListener('pointerenter', load);
  }
  if (banner && window.ResizeObserver) new ResizeObserver(pad).observe(banner);
  try { if (sessionStorage.ccSaved) { sessionStorage.removeItem('ccSaved'); say(root && root.dataset.saved); } } catch (e) {}
  view();
  window.cookieconsent = {
    get: copy, show: () => show(),
    acceptAll: () => decide('accept_all'), rejectAll: () => decide('reject_all'),
  };
})();
