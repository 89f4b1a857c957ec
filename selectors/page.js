// The agent's page script. It resolves the hooks of the Team page contract
// (shared/clay-team-page.md) inside the page and answers in one round trip.
// It relies only on visible text, ARIA and HTML semantics, icon identity and
// containment: never on class names of layout, ids or DOM positions.
//
// Every entry point returns a plain JSON-able object. Errors are returned as
// {error: {kind, control, message}}, never thrown, so that the Go side can
// map them to its sentinel errors.
(function () {
  "use strict";
  const VERSION = "__VERSION__";
  if (window.__clayAgent && window.__clayAgent.version === VERSION) return;

  const MARK = "data-clay-agent";
  const EMAIL_RE = /^[^\s@<>(),;:"\[\]]+@[^\s@<>(),;:"\[\]]+\.[^\s@<>(),;:"\[\]]+$/;
  const YOU_RE = /\(\s*you\s*\)/i;
  const STATUS_RE = /^(invited|pending|invitation sent|invite sent|pending invitation|awaiting response|expired)(\b.*)?$/i;
  const ROLE_WORDS = {
    "admin": "Admin", "administrator": "Admin",
    "editor": "Editor", "user": "Editor", "member": "Editor",
    "viewer": "Viewer",
    "sales rep": "Sales rep", "sales-rep": "Sales rep", "salesrep": "Sales rep",
  };
  const HEADING_SEL = "h1,h2,h3,h4,h5,h6,[role=heading]";
  const DIALOG_SEL = "dialog[open],[role=dialog],[role=alertdialog]";
  const POPUP_SEL = "[role=listbox],[role=menu]";
  const CONTROL_SEL = "button,[role=button],select,[role=combobox],input,textarea,a[href],[role=menuitem],[role=option],[role=switch],[role=checkbox]";
  const STOP_SEL = "body,main,[role=main],form,dialog,[role=dialog],[role=alertdialog],nav,header,aside,footer,table,thead,tbody,ul,ol,[role=grid],[role=list],[role=table],[role=rowgroup],[role=listbox],[role=menu],[role=tablist],[role=tabpanel]";
  const SEMANTIC_ROW_SEL = "tr,[role=row],li,[role=listitem]";
  const TRASH_ICON_RE = /(^|[\s_:-])(lucide-trash(-2)?|trash(-2|-can|-alt|-o)?|fa-trash(-can|-alt)?|delete|remove|bin|x-circle|user-minus|user-x)($|[\s_:-])/i;
  const REMOVE_NAME_RE = /\b(remove|delete|trash|revoke|cancel invitation|cancel invite)\b/i;
  const SECTION_MEMBERS_RE = /^(team|team members|members|workspace members|people)$/i;
  const SECTION_INVITES_RE = /^(pending invitations?|invitations?|pending invites?|invites?|pending)(\s*\(\d+\))?$/i;

  // ---------- small helpers ----------

  function norm(s) { return (s || "").replace(/\s+/g, " ").trim(); }

  // emailKey is the form in which addresses are compared: trimmed, ASCII
  // letters lower-cased and nothing else, so that a look-alike such as the
  // Kelvin sign never matches a "k".
  function emailKey(s) { return norm(s).replace(/[A-Z]/g, (c) => c.toLowerCase()); }

  function canonicalRole(s) {
    const k = norm(norm(s).toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, ""));
    return ROLE_WORDS[k] || "";
  }

  function isVisible(el) {
    if (!el || !el.isConnected) return false;
    if (typeof el.checkVisibility === "function") {
      if (!el.checkVisibility({ checkOpacity: false, checkVisibilityCSS: true })) return false;
    } else {
      const st = getComputedStyle(el);
      if (st.display === "none" || st.visibility === "hidden") return false;
    }
    const r = el.getBoundingClientRect();
    if (r.width <= 1 && r.height <= 1) {
      // visually hidden (sr-only) or empty
      return false;
    }
    return true;
  }

  function ariaHidden(el) {
    return !!(el.closest && el.closest("[aria-hidden=true],[hidden],template,script,style,noscript"));
  }

  function isDisabled(el) {
    if (!el) return true;
    if (el.disabled) return true;
    if (el.closest("[aria-disabled=true],fieldset[disabled]")) return true;
    return false;
  }

  // The accessible name of a control, as a person using a screen reader
  // would hear it: aria-label, aria-labelledby, title, then its text, then
  // the titles and labels of icons inside it.
  function accName(el) {
    if (!el) return "";
    const label = el.getAttribute("aria-label");
    if (label && norm(label)) return norm(label);
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const t = by.split(/\s+/).map((id) => { const n = document.getElementById(id); return n ? n.textContent : ""; }).join(" ");
      if (norm(t)) return norm(t);
    }
    if (el.tagName === "SELECT") {
      const o = el.selectedOptions && el.selectedOptions[0];
      return o ? norm(o.textContent) : "";
    }
    if (el.tagName === "INPUT") {
      return norm(el.value || el.getAttribute("placeholder") || "");
    }
    const text = norm(el.innerText !== undefined ? el.innerText : el.textContent);
    if (text) return text;
    const title = el.getAttribute("title");
    if (title && norm(title)) return norm(title);
    const inner = el.querySelector("[aria-label],[title],svg title");
    if (inner) {
      return norm(inner.getAttribute("aria-label") || inner.getAttribute("title") || inner.textContent);
    }
    return "";
  }

  function iconIdentity(el) {
    const parts = [];
    const icons = el.matches("svg,i,img") ? [el] : Array.from(el.querySelectorAll("svg,i,img,[data-icon]"));
    for (const ic of icons) {
      parts.push(ic.getAttribute("data-icon") || "", ic.getAttribute("aria-label") || "",
        ic.getAttribute("class") || "", ic.getAttribute("alt") || "", ic.getAttribute("title") || "");
      const t = ic.querySelector && ic.querySelector("title");
      if (t) parts.push(t.textContent);
    }
    return parts.join(" ");
  }

  function headingText(el) { return norm(el.textContent); }

  function isOpenDialog(el) {
    return isVisible(el) && !(el.tagName === "DIALOG" && !el.open);
  }

  function openDialogs() {
    return Array.from(document.querySelectorAll(DIALOG_SEL)).filter(isOpenDialog);
  }

  function inOverlay(el) {
    return !!el.closest(DIALOG_SEL + "," + POPUP_SEL);
  }

  function err(kind, control, message) {
    return { error: { kind: kind, control: control, message: message } };
  }

  function nextTask() {
    return new Promise((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => resolve();
      ch.port2.postMessage(0);
    });
  }
  function nextFrame() {
    return new Promise((resolve) => {
      let done = false;
      const fin = () => { if (!done) { done = true; resolve(); } };
      requestAnimationFrame(fin);
      setTimeout(fin, 50); // rAF is throttled in background tabs
    });
  }
  function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

  // ---------- state of the page ----------

  function loginShown() {
    const pw = Array.from(document.querySelectorAll("input[type=password]")).filter(isVisible);
    return pw.length > 0;
  }

  // busy reports a loading list: aria-busy, a progress bar, or a status
  // that says "Loading". One scan of the document, as it runs often.
  function busy() {
    for (const el of document.querySelectorAll("[aria-busy=true],[role=progressbar],[role=status],[aria-live]")) {
      if (el.getAttribute("aria-busy") === "true") {
        if (isVisible(el) || el.getBoundingClientRect().height > 0) return true;
      } else if (el.getAttribute("role") === "progressbar") {
        if (isVisible(el)) return true;
      } else if (isVisible(el) && /^loading\b/i.test(accName(el))) {
        return true;
      }
    }
    return false;
  }

  function teamHeading() {
    for (const h of document.querySelectorAll(HEADING_SEL)) {
      if (isVisible(h) && SECTION_MEMBERS_RE.test(headingText(h))) return headingText(h);
    }
    return "";
  }

  // emailElements returns the innermost visible elements whose whole text is
  // one email address, outside dialogs and popups.
  function emailElements() {
    const out = [];
    const seen = new Set();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
      acceptNode(n) { return n.nodeValue.indexOf("@") >= 0 ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP; },
    });
    let n;
    while ((n = walker.nextNode())) {
      let el = n.parentElement;
      if (!el) continue;
      let own = norm(n.nodeValue.replace(YOU_RE, ""));
      let email = "";
      if (EMAIL_RE.test(own)) {
        email = own;
      } else {
        // an address split over several inline elements
        for (let i = 0; i < 3 && el && el !== document.body; i++) {
          const t = norm(el.textContent.replace(YOU_RE, ""));
          if (EMAIL_RE.test(t)) { email = t; break; }
          if (t.length > 320) break;
          el = el.parentElement;
        }
      }
      if (!email || !el || seen.has(el)) continue;
      if (ariaHidden(el) || inOverlay(el)) continue;
      if (el.closest("input,textarea,select,option,button,[role=button],[role=combobox]")) continue;
      if (!isVisible(el)) continue;
      seen.add(el);
      out.push({ el: el, email: email });
    }
    return out;
  }

  // rows groups email elements into rows: the smallest element that holds
  // the email and that row's own controls, found by containment only.
  function rows() {
    const found = emailElements();
    const counts = new Map();
    for (const f of found) {
      for (let a = f.el.parentElement; a; a = a.parentElement) {
        counts.set(a, (counts.get(a) || 0) + 1);
      }
    }
    const headings = Array.from(document.querySelectorAll(HEADING_SEL)).filter((h) => isVisible(h) && !inOverlay(h));
    const out = [];
    for (const f of found) {
      let row = null;
      const sem = f.el.closest(SEMANTIC_ROW_SEL);
      if (sem && !sem.matches("body") && !inOverlay(sem)) row = sem;
      if (!row) {
        let cur = f.el;
        for (;;) {
          const p = cur.parentElement;
          if (!p || p.matches(STOP_SEL)) break;
          if ((counts.get(p) || 0) > 1) break;
          if (sectionMarkerOutside(p, cur)) break;
          cur = p;
        }
        row = cur;
      }
      out.push({ row: row, emailEl: f.el, email: f.email, section: sectionOf(row, headings) });
    }
    return out;
  }

  // sectionMarkerOutside reports whether p holds a section heading or the
  // Invite button that is not part of cur: a row never does.
  function sectionMarkerOutside(p, cur) {
    for (const h of p.querySelectorAll(HEADING_SEL)) {
      if (cur.contains(h)) continue;
      const t = headingText(h);
      if (SECTION_MEMBERS_RE.test(t) || SECTION_INVITES_RE.test(t)) return true;
    }
    for (const b of p.querySelectorAll("button,[role=button],a")) {
      if (cur.contains(b)) continue;
      if (isInviteLabel(accName(b))) return true;
    }
    return false;
  }

  function sectionOf(row, headings) {
    let last = "";
    for (const h of headings) {
      if (h.contains(row)) continue;
      if (h.compareDocumentPosition(row) & Node.DOCUMENT_POSITION_FOLLOWING) {
        const t = headingText(h);
        if (SECTION_INVITES_RE.test(t)) last = "invitations";
        else if (SECTION_MEMBERS_RE.test(t)) last = "members";
      }
    }
    return last;
  }

  function isInviteLabel(s) {
    return /^\+?\s*invite(\s+(a\s+)?(members?|people|teammates?|users?|team\s*members?))?$/i.test(norm(s).replace(/^[+＋]\s*/, "+"));
  }

  // roleControl finds the row's role dropdown in any of its forms.
  function roleControl(row) {
    const sel = Array.from(row.querySelectorAll("select")).filter((s) => isVisible(s) || s.getBoundingClientRect().height > 0);
    for (const s of sel) {
      if (Array.from(s.options).some((o) => canonicalRole(o.textContent))) return { el: s, kind: "select" };
    }
    const cands = Array.from(row.querySelectorAll("[role=combobox],[aria-haspopup],button,[role=button]")).filter(isVisible);
    for (const c of cands) {
      const hasPopup = c.matches("[role=combobox],[aria-haspopup]:not([aria-haspopup=false])");
      let name = c.matches("input") ? c.value : accName(c);
      if (c.getAttribute("aria-label") && !canonicalRole(name)) {
        // e.g. aria-label="Role: Editor" or "Change role"; read the text too
        const m = /role\s*[:\-]\s*(.+)$/i.exec(name);
        name = m ? m[1] : norm(c.innerText || c.textContent);
      }
      if (hasPopup && canonicalRole(name)) return { el: c, kind: "popup", current: canonicalRole(name) };
    }
    for (const c of cands) {
      if (canonicalRole(accName(c))) return { el: c, kind: "popup", current: canonicalRole(accName(c)) };
    }
    return null;
  }

  function removeControl(row, exclude) {
    const cands = Array.from(row.querySelectorAll("button,[role=button],a")).filter((c) => isVisible(c) && c !== exclude && !(exclude && exclude.contains(c)));
    const hits = [];
    for (const c of cands) {
      const name = accName(c);
      if (/^cancel$/i.test(name)) continue;
      if (canonicalRole(name)) continue;
      if (REMOVE_NAME_RE.test(name) || REMOVE_NAME_RE.test(c.getAttribute("title") || "") || TRASH_ICON_RE.test(iconIdentity(c))) {
        hits.push(c);
      }
    }
    return hits;
  }

  function textTokens(row) {
    const out = [];
    const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walker.nextNode())) {
      const t = norm(n.nodeValue);
      if (!t) continue;
      const p = n.parentElement;
      if (!p || p.closest("button,[role=button],select,option,[role=combobox],[role=listbox],[role=menu],input,textarea,svg,script,style,[aria-hidden=true]")) continue;
      if (!isVisible(p)) continue;
      out.push({ text: t, el: p });
    }
    return out;
  }

  // isInitialsOf reports whether t is a short token that abbreviates
  // another token of the row, like an avatar's "AL" beside "Ana López".
  function isInitialsOf(t, tokens) {
    const chars = Array.from(t.toLowerCase());
    if (chars.length > 3 || /\s/.test(t)) return false;
    for (const o of tokens) {
      if (o === t || Array.from(o).length <= chars.length) continue;
      const initials = o.split(/[\s,.'"()\-]+/).filter((w) => w).map((w) => Array.from(w)[0].toLowerCase());
      if (chars.every((c) => initials.includes(c))) return true;
    }
    return false;
  }

  function describeRow(r) {
    const row = r.row;
    const text = norm(row.innerText !== undefined ? row.innerText : row.textContent);
    const you = YOU_RE.test(text);
    const rc = roleControl(row);
    let role = "";
    if (rc) {
      if (rc.kind === "select") {
        const o = rc.el.selectedOptions && rc.el.selectedOptions[0];
        role = o ? (canonicalRole(o.textContent) || norm(o.textContent)) : "";
      } else {
        role = rc.current || canonicalRole(accName(rc.el));
      }
    }
    let status = "";
    const names = [];
    for (const tok of textTokens(row)) {
      if (tok.el === r.emailEl || r.emailEl.contains(tok.el) || tok.el.contains(r.emailEl)) {
        // the email's own text, possibly with (you) beside it
        const rest = norm(tok.text.replace(r.email, "").replace(YOU_RE, ""));
        if (!rest || EMAIL_RE.test(rest)) continue;
      }
      let t = norm(tok.text.replace(YOU_RE, ""));
      if (!t) continue;
      if (EMAIL_RE.test(t)) continue;
      if (canonicalRole(t)) { if (!role) role = canonicalRole(t); continue; }
      if (STATUS_RE.test(t)) { if (!status) status = t; continue; }
      if (!/\p{L}|\p{N}/u.test(t)) continue;
      names.push(t);
    }
    let name = "";
    for (const t of names) {
      if (isInitialsOf(t, names)) continue; // an avatar's initials
      name = t;
      break;
    }
    const removes = removeControl(row, rc ? rc.el : null);
    return {
      email: r.email,
      name: name,
      role: role,
      you: you,
      status: status,
      section: r.section,
      roleControl: rc ? rc.kind : "",
      roleDisabled: rc ? isDisabled(rc.el) : true,
      removeControls: removes.length,
      removeDisabled: removes.length ? removes.every(isDisabled) : true,
    };
  }

  function classify(d) {
    if (d.section === "invitations") return "invitation";
    if (d.status) return "invitation";
    if (d.section === "members") return d.role || d.roleControl ? "member" : "";
    return d.role || d.roleControl ? "member" : "";
  }

  // described caches row descriptions by the state they were read from:
  // the row's text and its controls' values and disabled states. A
  // virtualized list re-creates its row elements on every scroll step, so
  // the key is that state, not the element.
  let described = new Map();

  function rowSignature(r) {
    let sig = r.section + "\u0000" + r.email + "\u0000" + r.row.textContent;
    for (const c of r.row.querySelectorAll("select,button,[role=button],[role=combobox],[aria-disabled]")) {
      sig += "\u0000" + (c.value || "") + (c.disabled ? "d" : "") + (c.getAttribute("aria-disabled") || "") +
        (c.getAttribute("aria-label") || "") + (c.getAttribute("title") || "");
    }
    return sig;
  }

  function describeCached(r) {
    const sig = rowSignature(r);
    const hit = described.get(sig);
    if (hit) return Object.assign({}, hit);
    const d = describeRow(r);
    if (described.size > 20000) described = new Map();
    described.set(sig, Object.assign({}, d));
    return d;
  }

  function snapshot() {
    const rs = rows();
    const members = [];
    const invitations = [];
    const byKey = new Map();
    for (const r of rs) {
      const d = describeCached(r);
      const kind = classify(d);
      if (!kind) continue;
      d.kind = kind;
      byKey.set(r.row, d);
      (kind === "member" ? members : invitations).push(d);
    }
    return { members: members, invitations: invitations, rows: rs, byRow: byKey };
  }

  function pageInfo() {
    return { url: location.href, title: document.title, login: loginShown(), busy: busy(), heading: teamHeading() };
  }

  // quickEmails lists the addresses rendered as rows, cheaply: a text walk
  // without the row analysis. Used to notice that a list changed.
  function quickEmails() {
    return emailElements().map((f) => f.email);
  }

  // waitReady waits until the Team page has settled: no busy marker, member
  // rows, and the same rows on two checks in a row.
  async function waitReady(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let last = null;
    for (;;) {
      const info = pageInfo();
      if (info.login) return { info: info };
      if (!info.busy) {
        const sig = quickEmails().join(",");
        if (sig && sig === last) {
          const s = snapshot();
          if (s.members.length > 0) return { info: info, snap: s };
        }
        last = sig;
      } else {
        last = null;
      }
      if (Date.now() > deadline) return { info: pageInfo(), timeout: true };
      await sleep(30);
    }
  }

  // ---------- collection across pagination and virtualization ----------

  function scrollerOf(el) {
    for (let a = el.parentElement; a && a !== document.body && a !== document.documentElement; a = a.parentElement) {
      if (a.scrollHeight > a.clientHeight + 4) {
        const oy = getComputedStyle(a).overflowY;
        if (oy === "auto" || oy === "scroll" || oy === "overlay") return a;
      }
    }
    const se = document.scrollingElement || document.documentElement;
    return se.scrollHeight > se.clientHeight + 4 ? se : null;
  }

  function moreButton() {
    const btns = Array.from(document.querySelectorAll("button,[role=button],a")).filter((b) => isVisible(b) && !inOverlay(b) && !isDisabled(b));
    for (const b of btns) {
      const n = accName(b);
      if (/^(load|show|view|see)\s+more(\s+(members|people|rows|results))?\b/i.test(n) || /^more$/i.test(n)) return { el: b, kind: "more" };
    }
    for (const b of btns) {
      const n = accName(b);
      if (/^(next|next page|go to next page|›|»|→)$/i.test(n) || /^next\b/i.test(n)) return { el: b, kind: "next" };
    }
    return null;
  }

  function addAll(acc, s) {
    for (const list of [s.members, s.invitations]) {
      const step = new Map();
      for (const d of list) {
        const k = d.kind + "\u0000" + d.email;
        const arr = step.get(k) || [];
        arr.push(d);
        step.set(k, arr);
      }
      for (const [k, arr] of step) {
        const prev = acc.get(k) || [];
        // a duplicate only counts when both rows are rendered at once
        for (let i = 0; i < arr.length; i++) {
          if (i < prev.length) prev[i] = arr[i]; else prev.push(arr[i]);
        }
        acc.set(k, prev);
      }
    }
  }

  function emailSet(s) {
    const set = new Set();
    for (const d of s.members) set.add("m" + d.email);
    for (const d of s.invitations) set.add("i" + d.email);
    return set;
  }

  // settle waits for the page to react to a scroll or a click: first a
  // task, then frames until the check passes or the time is up.
  async function settle(check, timeoutMs) {
    await nextTask();
    if (check()) return true;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await nextFrame();
      if (check()) return true;
    }
    return false;
  }

  // rowsInView counts the email rows inside the scroller's viewport,
  // without describing them.
  function rowsInView(scroller) {
    const vr = scroller === document.scrollingElement || scroller === document.documentElement
      ? { top: 0, bottom: window.innerHeight }
      : scroller.getBoundingClientRect();
    let n = 0;
    for (const f of emailElements()) {
      const b = f.el.getBoundingClientRect();
      if (b.bottom > vr.top && b.top < vr.bottom) n++;
    }
    return n;
  }

  // scrollThrough walks a scroll container from top to bottom and feeds
  // every rendered row to visit. It stops early when visit returns true.
  async function scrollThrough(scroller, visit, stepTimeout) {
    const isDoc = scroller === document.scrollingElement || scroller === document.documentElement;
    const setTop = (y) => {
      if (isDoc) window.scrollTo(0, y); else scroller.scrollTop = y;
      (isDoc ? window : scroller).dispatchEvent(new Event("scroll"));
    };
    setTop(0);
    await settle(() => rowsInView(scroller) > 0, stepTimeout);
    let guard = 0;
    for (;;) {
      const s = snapshot();
      if (visit(s)) return true;
      const top = scroller.scrollTop;
      const max = scroller.scrollHeight - scroller.clientHeight;
      if (top >= max - 1) {
        // rows that load on reaching the end
        const h = scroller.scrollHeight;
        await settle(() => scroller.scrollHeight > h || busy(), 120);
        while (busy()) { await sleep(30); if (++guard > 100000) break; }
        if (scroller.scrollHeight <= h + 1) return false;
      }
      // step past the last rendered row, but at least most of a view
      const vr = isDoc ? { top: 0 } : scroller.getBoundingClientRect();
      let lastTop = 0;
      for (const r of s.rows) {
        if (!isDoc && !scroller.contains(r.row)) continue;
        const b = r.row.getBoundingClientRect();
        const y = b.top - vr.top + top;
        if (y > lastTop) lastTop = y;
      }
      const view = scroller.clientHeight || window.innerHeight;
      let next = Math.max(top + Math.floor(view * 0.9), Math.floor(lastTop) - 4);
      if (next > top + view * 4) next = top + Math.floor(view * 0.9);
      if (next <= top) next = top + Math.max(1, Math.floor(view * 0.9));
      setTop(Math.min(next, max));
      await settle(() => rowsInView(scroller) > 0 && !busy(), stepTimeout);
      if (++guard > 100000) return false;
    }
  }

  function isDocScroller(s) { return s === document.scrollingElement || s === document.documentElement; }

  function jumpTo(scroller, y) {
    if (isDocScroller(scroller)) window.scrollTo(0, y); else scroller.scrollTop = y;
    (isDocScroller(scroller) ? window : scroller).dispatchEvent(new Event("scroll"));
  }

  // loadAllMore clicks "Load more" until it is gone. It returns an error
  // object when a click does not change the list in time.
  async function loadAllMore(stepTimeout, notes, stop) {
    const all = document.getElementsByTagName("*");
    let more = null;
    for (let pages = 0; pages < 100000; pages++) {
      // the same "Load more" element usually stays: keep it while it does
      if (!(more && more.el.isConnected && isVisible(more.el) && !isDisabled(more.el) && /more/i.test(accName(more.el)))) {
        more = moreButton();
      }
      if (!more || more.kind !== "more") return null;
      if (stop && stop()) return null;
      const count = all.length;
      const btn = more.el;
      btn.click();
      // cheap checks first: busy() scans the whole document
      const ok = await settle(() => (all.length > count || !btn.isConnected || !isVisible(btn)) && !busy(), stepTimeout);
      if (!ok) return err("timeout", "the \"Load more\" button", "the list did not grow after clicking " + accName(btn));
      if (notes.length < 3 || pages % 50 === 0) notes.push("clicked Load more");
    }
    return null;
  }

  // textHasEmail reports, cheaply, whether the page's text holds email as a
  // whole address (not inside a longer one), ignoring ASCII case.
  function textHasEmail(email) {
    const want = emailKey(email);
    const text = (document.body.textContent || "").replace(/[A-Z]/g, (c) => c.toLowerCase());
    const emailChar = /[A-Za-z0-9._%+\-@]/;
    for (let i = text.indexOf(want); i >= 0; i = text.indexOf(want, i + 1)) {
      const before = i > 0 ? text[i - 1] : "";
      const after = text[i + want.length] || "";
      if (!emailChar.test(before) && !/[A-Za-z0-9_%+\-@]/.test(after) && !(after === "." && /[A-Za-z0-9]/.test(text[i + want.length + 1] || ""))) {
        return true;
      }
    }
    return false;
  }

  // exploreScroll finds out whether the list needs scrolling to show all of
  // its rows: a virtualized list (rows leave the DOM) is walked from top to
  // bottom, an infinite list (rows are added at the end) is grown until it
  // stops growing.
  async function exploreScroll(acc, stepTimeout, notes, visit) {
    const s = snapshot();
    if (visit(s)) return true;
    const first = s.rows[0];
    const scroller = first ? scrollerOf(first.row) : null;
    if (!scroller) return false;
    const before = new Set(quickEmails());
    const startTop = scroller.scrollTop;
    // jump to the far end from here: rows that leave the DOM give a
    // virtualized list away
    const atEnd = startTop > (scroller.scrollHeight - scroller.clientHeight) / 2;
    jumpTo(scroller, atEnd ? 0 : scroller.scrollHeight);
    const sameAsBefore = () => { const q = quickEmails(); return q.length === before.size && q.every((e) => before.has(e)); };
    await settle(() => !sameAsBefore(), 60);
    while (busy()) await sleep(20);
    const after = quickEmails();
    const afterSet = new Set(after);
    let lost = false;
    for (const e of before) if (!afterSet.has(e)) { lost = true; break; }
    if (lost) {
      notes.push("virtualized list: scrolled through");
      const hit = await scrollThrough(scroller, visit, stepTimeout);
      // a hit stays in view: scrolling back would unrender it
      if (!hit) jumpTo(scroller, startTop);
      return hit;
    }
    if (after.length > before.size) {
      notes.push("rows loaded on scroll");
      let h = scroller.scrollHeight;
      for (let i = 0; i < 100000; i++) {
        jumpTo(scroller, scroller.scrollHeight);
        const grew = await settle(() => scroller.scrollHeight > h && !busy(), 500);
        if (!grew) break;
        h = scroller.scrollHeight;
      }
      const hit = visit(snapshot());
      if (!hit) jumpTo(scroller, startTop);
      return hit;
    }
    jumpTo(scroller, startTop);
    return false;
  }

  // collect reads every member and invitation, following "Load more" and
  // "Next" controls and scrolling virtualized lists.
  async function collect(opts) {
    opts = opts || {};
    const stepTimeout = opts.stepTimeoutMs || 5000;
    const ready = await waitReady(opts.readyTimeoutMs || stepTimeout);
    if (ready.info.login) return { info: ready.info };
    if (ready.timeout) return Object.assign({ info: ready.info }, notReady(ready.info));
    const acc = new Map();
    const notes = [];
    let pages = 0;
    for (;;) {
      const e = await loadAllMore(stepTimeout, notes);
      if (e) return Object.assign({ info: pageInfo() }, e);
      await exploreScroll(acc, stepTimeout, notes, (snap) => { addAll(acc, snap); return false; });
      const more = moreButton();
      if (!more || more.kind !== "next") break;
      if (++pages > 10000) break;
      const sig = quickEmails().join(",");
      more.el.click();
      const ok = await settle(() => !busy() && quickEmails().join(",") !== sig, stepTimeout);
      if (!ok) return Object.assign({ info: pageInfo() }, err("timeout", "the \"Next\" page button", "the list did not change after clicking " + accName(more.el)));
      notes.push("went to the next page");
    }
    const members = [];
    const invitations = [];
    for (const [, arr] of acc) {
      for (const d of arr) (d.kind === "member" ? members : invitations).push(d);
    }
    return { info: pageInfo(), members: members, invitations: invitations, notes: notes, pages: pages };
  }

  function notReady(info) {
    if (info.busy) return err("timeout", "the member list", "the member list stayed busy (aria-busy or a spinner)");
    const s = snapshot();
    if (s.members.length === 0) {
      if (!info.heading) return err("contract", "the Team heading and member rows", "no \"Team\" heading and no member rows with an email, a role and controls");
      return err("contract", "member rows", "a \"Team\" heading but no member rows with an email and a role");
    }
    return err("timeout", "the member list", "the member list kept changing");
  }

  // ---------- locating one row ----------

  function matchRows(email, kind) {
    const want = emailKey(email);
    const s = snapshot();
    const list = kind === "invitation" ? s.invitations : s.members;
    const hits = [];
    for (const r of s.rows) {
      const d = s.byRow.get(r.row);
      if (!d || d.kind !== kind) continue;
      if (emailKey(d.email) === want) hits.push({ row: r.row, d: d });
    }
    return { hits: hits, total: list.length };
  }

  // locate brings the row of email into the DOM and marks it. It looks at
  // the rendered rows, then scrolls, then follows "Load more" and "Next".
  async function locate(email, kind, opts) {
    opts = opts || {};
    const stepTimeout = opts.stepTimeoutMs || 5000;
    const ready = await waitReady(opts.readyTimeoutMs || stepTimeout);
    if (ready.info.login) return { info: ready.info };
    if (ready.timeout) return Object.assign({ info: ready.info }, notReady(ready.info));
    clearMarks();
    const want = emailKey(email);
    const present = () => textHasEmail(email);
    let found = null;
    const visit = (s) => {
      if (!s.members.concat(s.invitations).some((d) => emailKey(d.email) === want)) return false;
      const m = matchRows(email, kind);
      if (m.hits.length > 0) { found = m.hits; return true; }
      return false;
    };
    const notes = [];
    for (let pages = 0; pages < 10000; pages++) {
      if (present() && visit(snapshot())) break;
      const e = await loadAllMore(stepTimeout, notes, present);
      if (e) return Object.assign({ info: pageInfo() }, e);
      if (present() && visit(snapshot())) break;
      if (await exploreScroll(new Map(), stepTimeout, notes, visit)) break;
      const more = moreButton();
      if (!more || more.kind !== "next") break;
      const sig = quickEmails().join(",");
      more.el.click();
      await settle(() => !busy() && quickEmails().join(",") !== sig, stepTimeout);
    }
    if (!found) return { info: pageInfo(), found: 0 };
    // a second row for the same email may sit just out of view
    const all = matchRows(email, kind).hits;
    const n = Math.max(all.length, found.length);
    if (n > 1) return Object.assign({ info: pageInfo(), found: n }, err("ambiguous", "the row of " + email, n + " rows match " + email));
    const h = all[0] || found[0];
    if (!h.row.isConnected) return Object.assign({ info: pageInfo(), found: 1 }, err("stale", "the row of " + email, "the row left the page while it was being located"));
    const token = "row-" + Math.random().toString(36).slice(2);
    h.row.setAttribute(MARK + "-row", token);
    h.row.scrollIntoView({ block: "center", inline: "nearest" });
    return { info: pageInfo(), found: 1, token: token, row: describeRow({ row: h.row, emailEl: rowEmailEl(h.row, email), email: h.d.email, section: h.d.section }) };
  }

  // rendered counts the rows of email among the rows in the DOM now,
  // without scrolling or paging: a cheap check right after an action on a
  // row that was in view.
  async function rendered(email, kind, opts) {
    opts = opts || {};
    const ready = await waitReady(opts.readyTimeoutMs || 5000);
    if (ready.info.login) return { info: ready.info };
    if (ready.timeout) return Object.assign({ info: ready.info }, notReady(ready.info));
    return { info: pageInfo(), found: matchRows(email, kind).hits.length };
  }

  function rowEmailEl(row, email) {
    const want = emailKey(email);
    for (const f of emailElements()) {
      if (row.contains(f.el) && emailKey(f.email) === want) return f.el;
    }
    return row;
  }

  function markedRow(token) {
    return document.querySelector("[" + MARK + "-row=\"" + token + "\"]");
  }

  function clearMarks() {
    for (const el of document.querySelectorAll("[" + MARK + "-row],[" + MARK + "-target]")) {
      el.removeAttribute(MARK + "-row");
      el.removeAttribute(MARK + "-target");
    }
  }

  // ---------- pointing at controls ----------

  // point scrolls el into view and returns the centre of its box, after
  // checking that a click there lands on el and not on something above it.
  function point(el, control) {
    if (!el.isConnected) return err("stale", control, "the " + control + " was re-rendered before it could be clicked");
    el.scrollIntoView({ block: "center", inline: "nearest" });
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return err("contract", control, "the " + control + " has no size on the page");
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    if (!hit || !(hit === el || el.contains(hit) || hit.contains(el) && hit.closest("label"))) {
      const what = hit ? hit.tagName.toLowerCase() + (hit.getAttribute("role") ? "[role=" + hit.getAttribute("role") + "]" : "") : "nothing";
      return err("covered", control, "the " + control + " is covered by " + what);
    }
    const token = "t-" + Math.random().toString(36).slice(2);
    el.setAttribute(MARK + "-target", token);
    return { x: x, y: y, token: token, name: accName(el) };
  }

  function rowControl(token, what) {
    const row = markedRow(token);
    if (!row) return err("stale", "the marked row", "the row is no longer on the page");
    if (what === "remove") {
      const rc = roleControl(row);
      const hits = removeControl(row, rc ? rc.el : null);
      if (hits.length === 0) return err("contract", "the remove (trash) control", "no remove control in the row: no button named Remove/Delete/Revoke and no trash icon");
      if (hits.length > 1) {
        const enabled = hits.filter((h) => !isDisabled(h));
        if (enabled.length !== 1) return err("ambiguous", "the remove (trash) control", hits.length + " controls in the row look like remove controls");
        return Object.assign({ disabled: false }, point(enabled[0], "remove (trash) control"));
      }
      if (isDisabled(hits[0])) return { disabled: true, name: accName(hits[0]) };
      return Object.assign({ disabled: false }, point(hits[0], "remove (trash) control"));
    }
    if (what === "role") {
      const rc = roleControl(row);
      if (!rc) return err("contract", "the role dropdown", "no role dropdown in the row: no <select> of roles and no button or combobox showing a role");
      if (isDisabled(rc.el)) return { disabled: true, kind: rc.kind };
      return Object.assign({ disabled: false, kind: rc.kind }, point(rc.el, "role dropdown"));
    }
    return err("usage", what, "unknown control " + what);
  }

  // selectRole sets a native <select> role dropdown the way a person's
  // choice would: the value, then input and change events.
  function selectRole(token, role) {
    const row = markedRow(token);
    if (!row) return err("stale", "the marked row", "the row is no longer on the page");
    const rc = roleControl(row);
    if (!rc || rc.kind !== "select") return err("contract", "the role dropdown", "the row's role dropdown is not a <select>");
    const opt = Array.from(rc.el.options).find((o) => canonicalRole(o.textContent) === role);
    if (!opt) return err("contract", "the role option " + role, "the role dropdown has no option " + role + " (options: " + Array.from(rc.el.options).map((o) => norm(o.textContent)).join(", ") + ")");
    if (opt.disabled) return err("refused", "the role option " + role, "the option " + role + " is disabled");
    const setter = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set;
    rc.el.focus();
    setter.call(rc.el, opt.value);
    rc.el.dispatchEvent(new Event("input", { bubbles: true }));
    rc.el.dispatchEvent(new Event("change", { bubbles: true }));
    return { ok: true };
  }

  // popupOption finds, in an open listbox or menu anywhere in the page
  // (portals included), the option for role.
  function popupOption(role) {
    const pops = Array.from(document.querySelectorAll(POPUP_SEL)).filter(isVisible);
    if (pops.length === 0) return err("contract", "the role list", "no listbox or menu opened");
    const opts = [];
    for (const p of pops) {
      for (const o of p.querySelectorAll("[role=option],[role=menuitem],[role=menuitemradio],[role=menuitemcheckbox]")) {
        if (isVisible(o) && canonicalRole(accName(o).replace(/[✓✔]/g, "")) === role) opts.push(o);
      }
    }
    if (opts.length === 0) {
      const all = [];
      for (const p of pops) for (const o of p.querySelectorAll("[role=option],[role=menuitem],[role=menuitemradio],[role=menuitemcheckbox]")) all.push(accName(o));
      return err("contract", "the role option " + role, "the open list has no option " + role + " (options: " + all.join(", ") + ")");
    }
    if (opts.length > 1) return err("ambiguous", "the role option " + role, opts.length + " options read " + role);
    if (isDisabled(opts[0])) return err("refused", "the role option " + role, "the option " + role + " is disabled");
    return point(opts[0], "role option " + role);
  }

  function popupOpen() {
    return Array.from(document.querySelectorAll(POPUP_SEL)).some(isVisible);
  }

  // ---------- dialogs ----------

  function dialogState() {
    const ds = openDialogs();
    if (ds.length === 0) return { open: false };
    const d = ds[ds.length - 1];
    const alerts = Array.from(d.querySelectorAll("[role=alert],[aria-live=assertive],[aria-live=polite],[role=status]"))
      .filter(isVisible).map((a) => norm(a.textContent)).filter((t) => t);
    return { open: true, count: ds.length, text: norm(d.innerText || d.textContent).slice(0, 2000), errors: alerts };
  }

  function dialogButton(pattern, control) {
    const ds = openDialogs();
    if (ds.length === 0) return err("contract", control, "no dialog is open");
    const d = ds[ds.length - 1];
    const re = new RegExp(pattern, "i");
    const hits = Array.from(d.querySelectorAll("button,[role=button],input[type=submit],input[type=button]"))
      .filter((b) => isVisible(b) && !/^(cancel|close|no|back|dismiss|×|x)$/i.test(accName(b)) && re.test(accName(b)));
    if (hits.length === 0) {
      const all = Array.from(d.querySelectorAll("button,[role=button]")).filter(isVisible).map(accName);
      return err("contract", control, "the dialog has no " + control + " (its buttons: " + (all.join(", ") || "none") + ")");
    }
    if (hits.length > 1) return err("ambiguous", control, hits.length + " buttons in the dialog match " + control);
    if (isDisabled(hits[0])) return err("refused", control, "the " + control + " is disabled");
    return point(hits[0], control);
  }

  function cancelDialog() {
    const ds = openDialogs();
    if (ds.length === 0) return { ok: true };
    const d = ds[ds.length - 1];
    const b = Array.from(d.querySelectorAll("button,[role=button]")).find((x) => isVisible(x) && /^(cancel|close|×|x)$/i.test(accName(x)));
    if (b) { b.click(); return { ok: true }; }
    d.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    if (d.tagName === "DIALOG" && d.open) d.close();
    return { ok: true };
  }

  // toasts returns visible alerts and status messages outside dialogs.
  function toasts() {
    return Array.from(document.querySelectorAll("[role=alert],[role=status],[aria-live=assertive]"))
      .filter((a) => isVisible(a) && !a.closest(DIALOG_SEL) && !/^loading\b/i.test(accName(a)))
      .map((a) => norm(a.textContent)).filter((t) => t);
  }

  // ---------- invite ----------

  function inviteButton() {
    const hits = Array.from(document.querySelectorAll("button,[role=button],a")).filter((b) => isVisible(b) && !inOverlay(b) && isInviteLabel(accName(b)));
    if (hits.length === 0) return err("contract", "the \"+ Invite\" button", "no button labelled Invite on the page");
    if (hits.length > 1) return err("ambiguous", "the \"+ Invite\" button", hits.length + " buttons labelled Invite");
    if (isDisabled(hits[0])) return err("refused", "the \"+ Invite\" button", "the Invite button is disabled");
    return point(hits[0], "\"+ Invite\" button");
  }

  function dialogEmailInput() {
    const ds = openDialogs();
    if (ds.length === 0) return err("contract", "the invite dialog", "no dialog opened");
    const d = ds[ds.length - 1];
    const inputs = Array.from(d.querySelectorAll("input,textarea,[contenteditable=true]")).filter(isVisible);
    let hits = inputs.filter((i) => i.type === "email");
    if (hits.length === 0) {
      hits = inputs.filter((i) => /e-?mail/i.test((i.getAttribute("name") || "") + " " + (i.getAttribute("placeholder") || "") + " " + (i.getAttribute("aria-label") || "") + " " + labelOf(i)));
    }
    if (hits.length === 0) return err("contract", "the email field of the invite dialog", "no input of type email or named/placeholdered email in the dialog");
    if (hits.length > 1) return err("ambiguous", "the email field of the invite dialog", hits.length + " email fields in the dialog");
    const token = "t-" + Math.random().toString(36).slice(2);
    hits[0].setAttribute(MARK + "-target", token);
    hits[0].focus();
    if (typeof hits[0].select === "function") hits[0].select();
    return { token: token, value: hits[0].value || "" };
  }

  function labelOf(i) {
    if (i.labels && i.labels.length) return Array.from(i.labels).map((l) => l.textContent).join(" ");
    const l = i.closest("label");
    return l ? l.textContent : "";
  }

  function dialogRoleControl() {
    const ds = openDialogs();
    if (ds.length === 0) return err("contract", "the invite dialog", "no dialog open");
    const d = ds[ds.length - 1];
    const rc = roleControl(d);
    if (!rc) return { none: true };
    if (rc.kind === "select") {
      const token = "t-" + Math.random().toString(36).slice(2);
      rc.el.setAttribute(MARK + "-target", token);
      const o = rc.el.selectedOptions && rc.el.selectedOptions[0];
      return { kind: "select", token: token, current: o ? canonicalRole(o.textContent) : "", options: Array.from(rc.el.options).map((x) => canonicalRole(x.textContent) || norm(x.textContent)) };
    }
    return Object.assign({ kind: "popup", current: rc.current }, point(rc.el, "role dropdown of the invite dialog"));
  }

  function selectByToken(token, role) {
    const el = document.querySelector("[" + MARK + "-target=\"" + token + "\"]");
    if (!el) return err("stale", "the role dropdown", "the role dropdown is gone");
    const opt = Array.from(el.options).find((o) => canonicalRole(o.textContent) === role);
    if (!opt) return err("contract", "the role option " + role, "no option " + role + " (options: " + Array.from(el.options).map((o) => norm(o.textContent)).join(", ") + ")");
    const setter = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set;
    setter.call(el, opt.value);
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    return { ok: true };
  }

  function valueOf(token) {
    const el = document.querySelector("[" + MARK + "-target=\"" + token + "\"]");
    return el ? { value: el.value || "" } : err("stale", "field", "the field is gone");
  }

  // ---------- login ----------

  function loginForm() {
    const pw = Array.from(document.querySelectorAll("input[type=password]")).filter(isVisible);
    if (pw.length === 0) return err("contract", "the password field", "no visible password field");
    const form = pw[0].closest("form") || document.body;
    const emails = Array.from(form.querySelectorAll("input")).filter((i) => isVisible(i) && (i.type === "email" || /e-?mail|user/i.test((i.name || "") + " " + (i.placeholder || "") + " " + (i.getAttribute("aria-label") || "") + " " + labelOf(i) + " " + (i.autocomplete || ""))));
    if (emails.length !== 1) return err("contract", "the email field", emails.length + " email fields on the login page");
    const t1 = "t-" + Math.random().toString(36).slice(2);
    const t2 = "t-" + Math.random().toString(36).slice(2);
    emails[0].setAttribute(MARK + "-target", t1);
    pw[0].setAttribute(MARK + "-target", t2);
    let submit = Array.from(form.querySelectorAll("button,[role=button],input[type=submit]")).filter((b) => isVisible(b) && (b.type === "submit" || /^(continue|sign in|log in|login|next|submit)$/i.test(accName(b))) && !/google|sso|saml|microsoft|github/i.test(accName(b)));
    if (submit.length === 0) return err("contract", "the sign-in button", "no Continue / Sign in button");
    const t3 = "t-" + Math.random().toString(36).slice(2);
    submit[0].setAttribute(MARK + "-target", t3);
    return { email: t1, password: t2, submit: t3 };
  }

  function focusToken(token) {
    const el = document.querySelector("[" + MARK + "-target=\"" + token + "\"]");
    if (!el) return err("stale", "field", "the field is gone");
    el.focus();
    if (typeof el.select === "function") el.select();
    return { ok: true };
  }

  function pointToken(token, control) {
    const el = document.querySelector("[" + MARK + "-target=\"" + token + "\"]");
    if (!el) return err("stale", control, "the " + control + " is gone");
    return point(el, control);
  }

  function loginErrors() {
    return Array.from(document.querySelectorAll("[role=alert],[aria-live=assertive],[aria-live=polite]"))
      .filter(isVisible).map((a) => norm(a.textContent)).filter((t) => t);
  }

  function rowState(token) {
    const row = markedRow(token);
    if (!row) return { gone: true };
    const email = row.getAttribute(MARK + "-email") || "";
    return { gone: false, text: norm(row.textContent).slice(0, 500), email: email };
  }

  window.__clayAgent = {
    version: VERSION,
    pageInfo: pageInfo,
    waitReady: async (t) => { const r = await waitReady(t); return { info: r.info, timeout: !!r.timeout, members: r.snap ? r.snap.members.length : 0 }; },
    collect: collect,
    locate: locate,
    rendered: rendered,
    rowControl: rowControl,
    selectRole: selectRole,
    popupOption: popupOption,
    popupOpen: popupOpen,
    dialogState: dialogState,
    dialogButton: dialogButton,
    cancelDialog: cancelDialog,
    toasts: toasts,
    inviteButton: inviteButton,
    dialogEmailInput: dialogEmailInput,
    dialogRoleControl: dialogRoleControl,
    selectByToken: selectByToken,
    valueOf: valueOf,
    loginForm: loginForm,
    focusToken: focusToken,
    pointToken: pointToken,
    loginErrors: loginErrors,
    rowState: rowState,
    clearMarks: () => { clearMarks(); return { ok: true }; },
  };
})();
