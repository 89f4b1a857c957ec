// The agent's page script. It resolves the hooks of the Team page contract
// (docs/page-contract.md) inside the page and answers in one round trip.
// It relies only on visible text, ARIA and HTML semantics, icon identity and
// containment: never on class names of layout, ids or DOM positions.
//
// It is installed once per document (the Go side registers it to run in
// every new document and re-injects it when a call finds it missing) and
// defines window.__clayAgent. Every entry point returns a plain JSON-able
// object. Errors are returned as {error: {kind, control, message}}, never
// thrown, so that the Go side can map them to its sentinel errors.
//
// Targets are described, never held: a row is named by (kind, email) and
// resolved again among the rendered rows whenever it is needed. A click is
// checked when it happens: a guard armed before the click looks at the
// real input events and stops any that would land outside the described
// control.
(function () {
  "use strict";
  const VERSION = "__VERSION__";
  if (window.__clayAgent && window.__clayAgent.version === VERSION) return;

  const EMAIL_RE = /^[^\s@<>(),;:"\[\]]+@[^\s@<>(),;:"\[\]]+\.[^\s@<>(),;:"\[\]]+$/;
  const YOU_RE = /\(\s*you\s*\)/i;
  // a status word, possibly with more after it ("Invited 3 days ago"), but
  // not a phrase naming who invited someone ("Invited by admin@…"), which a
  // member's row may show as well
  const STATUS_RE = /^(invited|pending|invitation sent|invite sent|pending invitation|awaiting response|expired)(?!\s+by\b)(\b.*)?$/i;
  const ROLE_WORDS = {
    "admin": "Admin", "administrator": "Admin",
    "editor": "Editor", "user": "Editor", "member": "Editor",
    "viewer": "Viewer",
    "sales rep": "Sales rep", "sales-rep": "Sales rep", "salesrep": "Sales rep",
  };
  // a role name at the start of a described option: "Editor – Can edit"
  const ROLE_LEAD_RE = /^(sales[\s-]?rep|administrator|admin|editor|viewer|user|member)(?=$|[\s–—\-:·|(,.])/i;
  const HEADING_SEL = "h1,h2,h3,h4,h5,h6,[role=heading]";
  const SECTIONING_SEL = "section,article,aside,fieldset,[role=region],[role=group]";
  const DIALOG_SEL = "dialog[open],[role=dialog],[role=alertdialog]";
  const POPUP_SEL = "[role=listbox],[role=menu]";
  const ITEM_SEL = "[role=option],[role=menuitem],[role=menuitemradio],[role=menuitemcheckbox]";
  const CLICKABLE_SEL = "button,[role=button],a[href],select,[role=combobox],[aria-haspopup]:not([aria-haspopup=false]),[role=menuitem],[role=menuitemradio],[role=menuitemcheckbox],[role=option],input[type=submit],input[type=button]";
  const STOP_SEL = "body,main,[role=main],form,dialog,[role=dialog],[role=alertdialog],nav,header,aside,footer,table,thead,tbody,ul,ol,[role=grid],[role=list],[role=table],[role=rowgroup],[role=listbox],[role=menu],[role=tablist],[role=tabpanel]";
  const SEMANTIC_ROW_SEL = "tr,[role=row],li,[role=listitem]";
  const TRASH_ICON_RE = /(^|[\s_:-])(lucide-trash(-2)?|trash(-2|-can|-alt|-o)?|fa-trash(-can|-alt)?|delete|remove|bin|x-circle|user-minus|user-x)($|[\s_:-])/i;
  const REMOVE_NAME_RE = /\b(remove|delete|trash|revoke|cancel invitation|cancel invite)\b/i;
  const COUNT = "\\s*[(\\[]?\\s*([\\d.,\\u00a0\\u202f ]*\\d)\\s*[)\\]]?";
  const MEMBERS_WORDS = "team|team members|members|workspace members|people";
  const INVITES_WORDS = "pending invitations?|invitations?|pending invites?|invites?|pending";
  const SECTION_MEMBERS_RE = new RegExp("^(" + MEMBERS_WORDS + ")(" + COUNT + ")?$", "i");
  const SECTION_INVITES_RE = new RegExp("^(" + INVITES_WORDS + ")(" + COUNT + ")?$", "i");
  const MEMBERS_COUNT_RE = new RegExp("^(?:" + MEMBERS_WORDS + ")" + COUNT + "$", "i");
  const MEMBERS_COUNT_AFTER_RE = /^([\d.,\u00a0\u202f ]*\d)\s+(?:team\s+)?(?:members?|people)$/i;
  const INVITES_COUNT_RE = new RegExp("^(?:" + INVITES_WORDS + ")" + COUNT + "$", "i");
  const SHOWING_RE = /^(?:showing|displaying|viewing)?\s*([\d.,]*\d)\s*(?:[–—-]|to)\s*([\d.,]*\d)\s+of\s+([\d.,]*\d)(?:\s+(?:members?|people|results|rows|users))?$/i;
  const SHOWING_EMPTY_RE = /^(?:showing|displaying|viewing)\s+0\s+of\s+0(?:\s+\w+)?$/i;
  const NEXT_RE = /^(next|next page|go to next page|›|→|>)$/i;
  const NEXT_LOOSE_RE = /^next\b/i;
  const PREV_RE = /^(previous|prev|previous page|go to previous page|‹|←|<)$/i;
  const PREV_LOOSE_RE = /^(previous|prev)\b/i;
  const FIRST_RE = /^(first|first page|go to first page|«|⏮)$/i;
  const PAGE_NO_RE = /^(?:page\s+|go to page\s+)?(\d+)$/i;
  const MORE_RE = /^((load|show|view|see)\s+more\b(?!\s+actions)|more$|more\s*…$)/i;

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

  // loginShown reports a login page: a password field, or the email step
  // of a two-step sign-in (loginEmailStepShown).
  function loginShown() {
    const pw = Array.from(document.querySelectorAll("input[type=password]")).filter(isVisible);
    return pw.length > 0 || loginEmailStepShown();
  }

  // busy reports a loading list: aria-busy, a progress bar, or a status
  // that says "Loading". One scan of the document, as it runs often.
  // The page's own requests (fetch and XMLHttpRequest) in flight: rows
  // that arrive from a request the page has not answered yet are not on
  // the page yet, whether or not it shows a busy marker. The counter is
  // installed once per document, before the page's scripts when the
  // script runs at document start. A request older than NET_BACKGROUND_MS
  // is a long poll or a stream, not a load, and no longer counts; a
  // request that ended less than NET_RENDER_MS ago still does, so that the
  // page can render what it received.
  const NET_BACKGROUND_MS = 3000;
  const NET_RENDER_MS = 80;
  const net = window.__clayAgentNet || (function () {
    const n = { open: new Map(), seq: 0, lastEnd: 0 };
    const begin = () => { const id = ++n.seq; n.open.set(id, Date.now()); return id; };
    const end = (id) => { if (n.open.delete(id)) n.lastEnd = Date.now(); };
    try {
      const origFetch = window.fetch;
      if (typeof origFetch === "function") {
        window.fetch = function () {
          const id = begin();
          let p;
          try {
            p = origFetch.apply(this, arguments);
          } catch (e) {
            end(id);
            throw e;
          }
          // a fetch answers when the headers arrive; the body comes after.
          // A body the page reads keeps the request open until it is read.
          Promise.resolve(p).then((res) => {
            let reading = false;
            for (const m of ["json", "text", "arrayBuffer", "blob", "formData"]) {
              const orig = res && res[m];
              if (typeof orig !== "function") continue;
              try {
                Object.defineProperty(res, m, {
                  configurable: true,
                  value: function () {
                    reading = true;
                    const q = orig.apply(this, arguments);
                    Promise.resolve(q).then(() => end(id), () => end(id));
                    return q;
                  },
                });
              } catch (e) { /* a frozen response: its headers end it */ }
            }
            setTimeout(() => { if (!reading) end(id); }, 0);
          }, () => end(id));
          return p;
        };
      }
      const proto = window.XMLHttpRequest && window.XMLHttpRequest.prototype;
      if (proto && typeof proto.send === "function") {
        const origSend = proto.send;
        proto.send = function () {
          const id = begin();
          this.addEventListener("loadend", () => end(id), { once: true });
          try {
            return origSend.apply(this, arguments);
          } catch (e) {
            end(id);
            throw e;
          }
        };
      }
    } catch (e) { /* a page that forbids it keeps its busy markers only */ }
    Object.defineProperty(window, "__clayAgentNet", { value: n });
    return n;
  })();

  function netBusy() {
    const now = Date.now();
    if (now - net.lastEnd < NET_RENDER_MS) return true;
    for (const t of net.open.values()) if (now - t < NET_BACKGROUND_MS) return true;
    return false;
  }

  function busy() {
    if (netBusy()) return true;
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
      if (isVisible(h) && !inOverlay(h) && SECTION_MEMBERS_RE.test(headingText(h))) return headingText(h);
    }
    return "";
  }

  // emailElements returns the innermost visible elements whose whole text is
  // one email address, outside dialogs and popups.
  function emailElements(root) {
    const out = [];
    const seen = new Set();
    const walker = document.createTreeWalker(root || document.body, NodeFilter.SHOW_TEXT, {
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

  // rows groups email elements into rows: a row is the smallest element
  // that holds one email as an email and that row's own controls, found by
  // containment only. A row may show more than one address: a member who
  // never set a name is shown by their email in the name's place (the
  // address twice, perhaps in another case), a name may look like an
  // address (even another member's), and a row may mention someone else
  // ("Invited by admin@…"). Each row is answered once, with the address it
  // shows as its email (see rowEmail); a row whose email cannot be told
  // from its other addresses is answered with unsure set, and is never
  // taken for the row of any of them.
  function rows() {
    const found = emailElements();
    // how many addresses each element holds, itself included (an address
    // element may hold another: "ann@x <div>Invited by <b>bo@y</b></div>")
    const counts = new Map();
    for (const f of found) {
      for (let a = f.el; a; a = a.parentElement) {
        counts.set(a, (counts.get(a) || 0) + 1);
      }
    }
    const held = (el) => counts.get(el) || 0;
    // the addresses of one semantic row (tr, role=row, li, listitem) are
    // one row; the others start as a group of one
    const groups = [];
    const bySemantic = new Map();
    for (const f of found) {
      const sem = f.el.closest(SEMANTIC_ROW_SEL);
      if (sem && !sem.matches("body") && !inOverlay(sem)) {
        let g = bySemantic.get(sem);
        if (!g) {
          g = { node: sem, addrs: [], semantic: true };
          bySemantic.set(sem, g);
          groups.push(g);
        }
        g.addrs.push(f);
        continue;
      }
      const last = groups[groups.length - 1];
      if (last && !last.semantic && last.node.contains(f.el)) {
        last.addrs.push(f); // an address inside another address's element
        continue;
      }
      groups.push({ node: f.el, addrs: [f], semantic: false });
    }
    // neighbouring groups that are parts of one row are merged (see oneRow)
    const merged = [];
    for (const g of groups) {
      const prev = merged[merged.length - 1];
      if (prev && !prev.semantic && !g.semantic) {
        const l = oneRow(prev, g, held);
        if (l) {
          prev.node = l;
          prev.addrs.push(...g.addrs);
          continue;
        }
      }
      merged.push(g);
    }
    const headings = Array.from(document.querySelectorAll(HEADING_SEL)).filter((h) => isVisible(h) && !inOverlay(h));
    const out = [];
    for (const g of merged) {
      let row = g.node;
      if (!g.semantic) {
        let cur = g.node;
        for (;;) {
          const p = cur.parentElement;
          if (!p || p.matches(STOP_SEL)) break;
          if (held(p) > g.addrs.length) break;
          if (sectionMarkerOutside(p, cur)) break;
          if (beyondRow(p, cur)) break;
          cur = p;
        }
        row = cur;
      }
      out.push(Object.assign({ row: row, section: sectionOf(row, headings) }, rowEmail(row, g.addrs)));
    }
    return out;
  }

  // beyondRow reports whether p is past the row cur already is: cur holds
  // the row's own controls, and p adds only text around it, with no
  // control (a list's header "Name Email Role" above its one row, a
  // "Showing 1–1 of 9" line), so p is the list, not the row.
  function beyondRow(p, cur) {
    if (!roleControl(cur) && removeControl(cur, null).length === 0 && actionsMenuButtons(cur, null).length === 0) return false;
    let extra = "";
    for (const c of p.children) {
      if (c === cur || c.contains(cur)) continue;
      if (!isVisible(c)) continue;
      if (c.matches(CLICKABLE_SEL) || c.querySelector(CLICKABLE_SEL)) return false;
      extra += " " + (c.innerText !== undefined ? c.innerText : c.textContent);
    }
    return /\p{L}|\p{N}/u.test(extra);
  }

  // oneRow reports whether two neighbouring groups of addresses are parts
  // of one row, and returns the element that holds both. They are when the
  // smallest element holding both holds no other address, no section
  // marker, is no list or section (STOP_SEL) and has none on the way down
  // to them, and the two parts do not both hold what only a row holds (a
  // row's control, or a role or status word): two rows each have theirs,
  // a name and an email do not.
  function oneRow(a, b, held) {
    let l = a.node;
    while (l && !l.contains(b.node)) l = l.parentElement;
    if (!l || l === document.body || l === document.documentElement || l.matches(STOP_SEL)) return null;
    if (held(l) !== a.addrs.length + b.addrs.length) return null;
    const part = (n) => {
      let c = n;
      for (; c.parentElement && c.parentElement !== l; c = c.parentElement) {
        if (c.parentElement.matches(STOP_SEL)) return null;
      }
      return c;
    };
    const pa = l === a.node ? a.node : part(a.node);
    const pb = l === b.node ? b.node : part(b.node);
    if (!pa || !pb) return null;
    for (const h of l.querySelectorAll(HEADING_SEL)) {
      const t = headingText(h);
      if (SECTION_MEMBERS_RE.test(t) || SECTION_INVITES_RE.test(t)) return null;
    }
    for (const x of l.querySelectorAll("button,[role=button],a")) if (isInviteLabel(accName(x))) return null;
    if (l !== a.node && l !== b.node && holdsRowPart(pa) && holdsRowPart(pb)) return null;
    return l;
  }

  // holdsRowPart reports whether el holds what only a row has: a role
  // dropdown, a remove control, an actions menu, or a role or status word.
  function holdsRowPart(el) {
    if (roleControl(el)) return true;
    for (const c of [el].concat(Array.from(el.querySelectorAll("button,[role=button],[role=combobox],[aria-haspopup],a")))) {
      if (!c.matches("button,[role=button],[role=combobox],[aria-haspopup],a") || !isVisible(c)) continue;
      const name = accName(c);
      if (canonicalRole(name)) return true;
      const hp = (c.getAttribute("aria-haspopup") || "").toLowerCase();
      if (hp === "menu" || hp === "true") return true;
      if (!/^cancel$/i.test(name) && (REMOVE_NAME_RE.test(name) || REMOVE_NAME_RE.test(c.getAttribute("title") || "") || TRASH_ICON_RE.test(iconIdentity(c)))) return true;
    }
    return textTokens(el).some((t) => canonicalRole(t.text) || STATUS_RE.test(t.text));
  }

  // rowEmail tells which of the addresses a row shows is its email. One
  // address (in any case) is the email; shown twice, the email is the
  // element that is not the name. Among several addresses, one mentioned
  // inside a phrase ("Invited by admin@…") is no email, nor is the name:
  // the address in a heading of the row, else its first label. What is
  // left must be one address; otherwise the row is unsure.
  function rowEmail(row, addrs) {
    const keysOf = (list) => Array.from(new Set(list.map((f) => emailKey(f.email))));
    const all = keysOf(addrs);
    if (addrs.length === 1) return { emailEl: addrs[0].el, email: addrs[0].email, nameEl: null, others: [], unsure: null };
    const name = nameAddress(row, addrs);
    let cands = addrs;
    if (keysOf(cands).length > 1) {
      const plain = cands.filter((f) => !isMention(f, row));
      if (plain.length) cands = plain;
    }
    if (keysOf(cands).length > 1 && name) {
      const rest = cands.filter((f) => emailKey(f.email) !== emailKey(name.email));
      if (rest.length) cands = rest;
    }
    if (keysOf(cands).length !== 1) {
      return { emailEl: addrs[0].el, email: addrs[0].email, nameEl: null, others: addrs.slice(1).map((f) => f.el), unsure: all };
    }
    const pick = cands.find((f) => !name || f.el !== name.el) || cands[0];
    return {
      emailEl: pick.el,
      email: pick.email,
      nameEl: name && name.el !== pick.el ? name.el : null,
      others: addrs.filter((f) => f.el !== pick.el).map((f) => f.el),
      unsure: null,
    };
  }

  // nameAddress returns the address of addrs that stands where the row's
  // name goes, if one does: the one inside a heading of the row, else the
  // one that is the row's first label (its first text that is no initials,
  // role, status or control).
  function nameAddress(row, addrs) {
    const inHeading = addrs.filter((f) => { const h = f.el.closest(HEADING_SEL); return h && row.contains(h); });
    if (inHeading.length && new Set(inHeading.map((f) => emailKey(f.email))).size === 1) return inHeading[0];
    const toks = textTokens(row).map((t) => ({ el: t.el, text: norm(t.text.replace(YOU_RE, "")) })).filter((t) => t.text && /\p{L}|\p{N}/u.test(t.text));
    const texts = toks.map((t) => t.text);
    for (const t of toks) {
      if (canonicalRole(t.text) || STATUS_RE.test(t.text) || isInitialsOf(t.text, texts)) continue;
      return addrs.find((f) => f.el === t.el || f.el.contains(t.el)) || null;
    }
    return null;
  }

  // isMention reports whether the address f is part of a phrase
  // ("Invited by admin@…"), rather than shown on its own: words lead up to
  // it on its line. What comes after it does not count, and neither does
  // an element before it that holds an address or is a block of its own:
  // "<span>ann@…</span><span>Invited by bob@…</span>" shows ann's address
  // on its own, however the spans run together in the text.
  function isMention(f, row) {
    const key = emailKey(f.email);
    const textOf = (n) => norm(n.nodeType === 3 ? n.nodeValue : n.nodeType === 1 ? (n.innerText !== undefined ? n.innerText : n.textContent) : "");
    // the node that shows the address: the largest element whose text is
    // just the address, or the text node itself
    let a = f.el;
    if (emailKey(norm(a.textContent.replace(YOU_RE, ""))) === key) {
      while (a.parentElement && a.parentElement !== row && emailKey(norm(a.parentElement.textContent.replace(YOU_RE, ""))) === key) a = a.parentElement;
    } else {
      const t = Array.from(a.childNodes).find((n) => n.nodeType === 3 && emailKey(norm(n.nodeValue.replace(YOU_RE, ""))) === key);
      if (t) a = t;
    }
    for (let prev = a.previousSibling; prev; prev = prev.previousSibling) {
      const t = textOf(prev).replace(YOU_RE, "");
      if (!norm(t)) continue;
      if (prev.nodeType === 1) {
        const d = getComputedStyle(prev).display;
        if (!/^inline/.test(d) && d !== "contents") return false; // a line of its own
      }
      if (t.indexOf("@") >= 0) return false; // another address, not words leading up to this one
      return /\p{L}|\p{N}/u.test(t);
    }
    return false;
  }

  // rowIdentity reads the email of one row element the way rows() does.
  function rowIdentity(row) {
    const addrs = emailElements(row);
    if (!addrs.length) return { email: "", unsure: null };
    return rowEmail(row, addrs);
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

  // sectionOf names the section a row is in ("members", "invitations" or
  // "" under no such heading). A heading governs the rows after it within
  // its scope: the sectioning element around it (section, article,
  // region, group, fieldset) when there is one, else the whole document.
  // Of the headings that govern a row, the one of the narrowest scope
  // wins, and of those the last before the row: so invitations in a
  // section of their own above the members do not claim the members
  // after that section.
  function sectionOf(row, headings) {
    let kind = "";
    let scope = null;
    for (const h of headings) {
      if (h.contains(row)) continue;
      if (!(h.compareDocumentPosition(row) & Node.DOCUMENT_POSITION_FOLLOWING)) continue;
      const t = headingText(h);
      const k = SECTION_INVITES_RE.test(t) ? "invitations" : SECTION_MEMBERS_RE.test(t) ? "members" : "";
      if (!k) continue;
      const sc = h.parentElement ? h.parentElement.closest(SECTIONING_SEL) : null;
      if (sc && !sc.contains(row)) continue;
      const s = sc || document.documentElement;
      if (scope && s !== scope && s.contains(scope)) continue; // a wider scope than the one found
      scope = s;
      kind = k;
    }
    return kind;
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
    const within = (el, x) => !!x && (x === el || x.contains(el));
    for (const tok of textTokens(row)) {
      // the address in the name's place is the name, whatever it looks like
      const inName = within(tok.el, r.nameEl);
      if (!inName && (tok.el === r.emailEl || r.emailEl.contains(tok.el) || tok.el.contains(r.emailEl))) {
        // the email's own text, possibly with (you) beside it
        const rest = norm(tok.text.replace(r.email, "").replace(YOU_RE, ""));
        if (!rest || EMAIL_RE.test(rest)) continue;
      }
      // another address the row shows: someone it mentions
      if (!inName && (r.others || []).some((o) => within(tok.el, o))) continue;
      let t = norm(tok.text.replace(YOU_RE, ""));
      if (!t) continue;
      if (EMAIL_RE.test(t) && !inName) continue;
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
    const menus = removes.length ? [] : actionsMenuButtons(row, rc);
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
      removeDisabled: removes.length ? removes.every(isDisabled) : menus.length ? menus.every(isDisabled) : true,
      actionsMenu: menus.length > 0,
    };
  }

  // actionsMenuButton finds the row's actions menu: a button that opens a
  // menu (aria-haspopup menu or true) and is not the role dropdown, e.g.
  // an icon-only "More actions" or "…".
  function actionsMenuButtons(row, rc) {
    const out = [];
    for (const c of row.querySelectorAll("button,[role=button],[aria-haspopup]")) {
      if (!isVisible(c)) continue;
      if (rc && (c === rc.el || rc.el.contains(c) || c.contains(rc.el))) continue;
      const hp = (c.getAttribute("aria-haspopup") || "").toLowerCase();
      if (hp !== "menu" && hp !== "true") continue;
      if (canonicalRole(accName(c))) continue;
      out.push(c);
    }
    return out;
  }

  function classify(d) {
    if (d.section === "invitations") return "invitation";
    if (d.status) return "invitation";
    return d.role || d.roleControl ? "member" : "";
  }

  // described caches row descriptions by the state they were read from:
  // the row's text and its controls' values and disabled states. A
  // virtualized list re-creates its row elements on every scroll step, so
  // the key is that state, not the element.
  let described = new Map();

  function rowSignature(r) {
    let sig = r.section + "\u0000" + r.email + "\u0000" + r.row.textContent;
    for (const c of r.row.querySelectorAll("select,button,[role=button],[role=combobox],[aria-disabled],[aria-haspopup]")) {
      sig += "\u0000" + (c.value || "") + (c.disabled ? "d" : "") + (c.getAttribute("aria-disabled") || "") +
        (c.getAttribute("aria-label") || "") + (c.getAttribute("title") || "") + (c.getAttribute("aria-haspopup") || "");
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

  // snapshot describes the rows rendered now, in one synchronous pass: no
  // re-render can happen in the middle of it.
  function snapshot() {
    const rs = rows();
    const members = [];
    const invitations = [];
    const byRow = new Map();
    // rows whose email cannot be told from their other addresses: seats
    // all the same, reported (as unreadable rows) and never taken for the
    // row of any address they show
    const unsure = [];
    for (const r of rs) {
      const d = describeCached(r);
      const kind = classify(d);
      if (!kind) continue;
      d.kind = kind;
      if (r.unsure) {
        unsure.push({
          kind: kind,
          text: norm(r.row.innerText !== undefined ? r.row.innerText : r.row.textContent).slice(0, 500),
          section: d.section,
          roleControl: !!d.roleControl,
          removeControl: d.removeControls > 0 || d.actionsMenu,
          keys: r.unsure,
        });
        continue;
      }
      byRow.set(r.row, d);
      (kind === "member" ? members : invitations).push(d);
    }
    return { members: members, invitations: invitations, rows: rs, byRow: byRow, unsure: unsure, unreadable: unreadableRows(rs).concat(unsure) };
  }

  // unsureRows returns the rows of kind that show email among addresses
  // the page script cannot tell apart.
  function unsureRows(s, email, kind) {
    const want = emailKey(email);
    return (s.unsure || []).filter((u) => u.kind === kind && u.keys.indexOf(want) >= 0);
  }

  function unsureError(email, kind, us) {
    return err("unreadable", "the row of " + email, us.length + " " + kind + " row(s) show " + email + " beside other addresses, and which of them is the row's email cannot be told: " +
      us.map((u) => JSON.stringify(u.text.slice(0, 120))).join("; "));
  }

  // strayControls lists the role and remove controls of the list that no
  // read row holds: the controls of a row whose email the page script
  // could not read. A role control counts when every option it offers is
  // a role (a filter offering "All roles" is not a row's control).
  function strayControls(rs) {
    const out = [];
    const rowSet = new Set(rs.map((r) => r.row));
    const held = (c) => {
      for (let a = c; a; a = a.parentElement) if (rowSet.has(a)) return true;
      return false;
    };
    for (const sel of document.querySelectorAll("select")) {
      if (!(isVisible(sel) || sel.getBoundingClientRect().height > 0) || inOverlay(sel)) continue;
      const opts = Array.from(sel.options).map((o) => norm(o.textContent)).filter((t) => t);
      if (!opts.length || !opts.every((t) => canonicalRole(t))) continue;
      if (!held(sel)) out.push({ el: sel, what: "role" });
    }
    for (const c of document.querySelectorAll("button,[role=button],[role=combobox],a")) {
      if (!isVisible(c) || inOverlay(c) || c.closest("nav,header,footer,select")) continue;
      const name = accName(c);
      let what = "";
      if (canonicalRole(name) && c.matches("[role=combobox],[aria-haspopup]:not([aria-haspopup=false])")) what = "role";
      else if (!/^cancel$/i.test(name) && !canonicalRole(name) && (REMOVE_NAME_RE.test(name) || REMOVE_NAME_RE.test(c.getAttribute("title") || "") || TRASH_ICON_RE.test(iconIdentity(c)))) what = "remove";
      if (what && !held(c)) out.push({ el: c, what: what });
    }
    return out;
  }

  // unreadableRows groups the stray controls into rows, the way rows()
  // does (a semantic row, or the largest element around the control that
  // holds no read row, no other row's control and no section marker), and
  // describes each by its raw text. Such a row is reported, never dropped:
  // it is a seat the page shows and the agent cannot name.
  function unreadableRows(rs) {
    const stray = strayControls(rs);
    if (!stray.length) return [];
    const rowAncestors = new Set();
    for (const r of rs) for (let a = r.row; a; a = a.parentElement) rowAncestors.add(a);
    const headings = Array.from(document.querySelectorAll(HEADING_SEL)).filter((h) => isVisible(h) && !inOverlay(h));
    const groups = new Map();
    for (const c of stray) {
      let row = null;
      const sem = c.el.closest(SEMANTIC_ROW_SEL);
      if (sem && !rowAncestors.has(sem) && !inOverlay(sem)) row = sem;
      if (!row) {
        let cur = c.el;
        for (;;) {
          const p = cur.parentElement;
          if (!p || p.matches(STOP_SEL) || rowAncestors.has(p)) break;
          // a row has one control of each kind: another one is another row's
          if (stray.some((o) => o.what === c.what && o.el !== c.el && p.contains(o.el) && !cur.contains(o.el) && !o.el.contains(cur))) break;
          if (sectionMarkerOutside(p, cur)) break;
          cur = p;
        }
        row = cur;
      }
      const g = groups.get(row) || { row: row, role: false, remove: false };
      if (c.what === "role") g.role = true; else g.remove = true;
      groups.set(row, g);
    }
    const out = [];
    for (const g of groups.values()) {
      // a group inside another is the same row
      let inner = false;
      for (const o of groups.keys()) if (o !== g.row && o.contains(g.row)) inner = true;
      if (inner) continue;
      // a row holds no text field (an inline form does), and shows an
      // address or offers a role: a lone "Remove filters" is no row
      if (g.row.querySelector("input:not([type=checkbox]):not([type=radio]):not([type=hidden]),textarea")) continue;
      const text = norm(g.row.innerText !== undefined ? g.row.innerText : g.row.textContent).slice(0, 500);
      if (!g.role && text.indexOf("@") < 0) continue;
      const section = sectionOf(g.row, headings);
      const status = textTokens(g.row).some((t) => STATUS_RE.test(t.text));
      out.push({
        kind: section === "invitations" || status ? "invitation" : "member",
        text: text,
        section: section,
        roleControl: g.role,
        removeControl: g.remove,
      });
    }
    return out;
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
  // or invitation rows, and the same rows on two checks in a row.
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
          if (s.members.length > 0 || (s.invitations.length > 0 && info.heading)) return { info: info, snap: s };
        }
        last = sig;
      } else {
        last = null;
      }
      if (Date.now() > deadline) return { info: pageInfo(), timeout: true };
      await sleep(30);
    }
  }

  function notReady(info) {
    if (info.busy) return err("timeout", "the member list", "the member list stayed busy (aria-busy, a spinner, or requests of the page in flight)");
    const s = snapshot();
    if (s.members.length === 0) {
      if (!info.heading) return err("contract", "the Team heading and member rows", "no \"Team\" heading and no member rows with an email, a role and controls");
      return err("contract", "member rows", "a \"Team\" heading but no member rows with an email and a role");
    }
    return err("timeout", "the member list", "the member list kept changing");
  }

  // ---------- what the page says of itself: counts and position ----------

  function num(s) {
    const n = parseInt(String(s).replace(/[^\d]/g, ""), 10);
    return isNaN(n) ? -1 : n;
  }

  // statedCounts reads the counts the page states outside its rows: a
  // heading with a count ("Team members 60", "Pending invitations (3)"),
  // "Showing 1–25 of 300", "60 members".
  function statedCounts() {
    const out = { members: [], invitations: [], from: -1, to: -1, of: -1, texts: [] };
    for (const h of document.querySelectorAll(HEADING_SEL)) {
      if (!isVisible(h) || inOverlay(h)) continue;
      const t = headingText(h);
      let m = MEMBERS_COUNT_RE.exec(t) || MEMBERS_COUNT_AFTER_RE.exec(t);
      if (m) { out.members.push(num(m[1])); out.texts.push(t); continue; }
      m = INVITES_COUNT_RE.exec(t);
      if (m) { out.invitations.push(num(m[1])); out.texts.push(t); }
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
      acceptNode(n) { return /\d/.test(n.nodeValue) || /showing|member|people/i.test(n.nodeValue) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP; },
    });
    const seen = new Set();
    let n;
    while ((n = walker.nextNode())) {
      // the text of the nearest block around the node: "Showing <b>1</b>–<b>25</b> of <b>300</b>"
      for (let el = n.parentElement, i = 0; el && el !== document.body && i < 3; el = el.parentElement, i++) {
        if (seen.has(el)) break;
        seen.add(el);
        const t = norm(el.textContent);
        if (t.length > 60 || t.indexOf("@") >= 0) break;
        if (el.closest(HEADING_SEL) || inOverlay(el) || ariaHidden(el) || !isVisible(el)) break;
        let m = SHOWING_RE.exec(t);
        if (m) {
          out.from = num(m[1]); out.to = num(m[2]); out.of = num(m[3]);
          out.members.push(out.of); out.texts.push(t);
          break;
        }
        if (SHOWING_EMPTY_RE.test(t)) { out.from = 0; out.to = 0; out.of = 0; out.members.push(0); out.texts.push(t); break; }
        m = MEMBERS_COUNT_AFTER_RE.exec(t);
        if (m) { out.members.push(num(m[1])); out.texts.push(t); break; }
      }
    }
    return out;
  }

  // ---------- pagination ----------

  function pagerControls() {
    const btns = Array.from(document.querySelectorAll("button,[role=button],a,[role=link]"))
      .filter((b) => isVisible(b) && !inOverlay(b) && !ariaHidden(b));
    const out = { next: null, prev: null, first: null, pages: [] };
    const loose = { next: null, prev: null };
    let last = null;
    for (const b of btns) {
      const n = accName(b);
      if (NEXT_RE.test(n)) { if (!out.next) out.next = b; continue; }
      if (PREV_RE.test(n)) { if (!out.prev) out.prev = b; continue; }
      if (FIRST_RE.test(n)) { if (!out.first) out.first = b; continue; }
      if (n === "»") { last = b; continue; }
      if (NEXT_LOOSE_RE.test(n) && !loose.next) loose.next = b;
      if (PREV_LOOSE_RE.test(n) && !loose.prev) loose.prev = b;
      const m = PAGE_NO_RE.exec(n);
      if (m && (/^page\b|^go to page\b/i.test(n) || b.closest("nav,[role=navigation]") || b.hasAttribute("aria-current"))) {
        const cur = b.getAttribute("aria-current");
        out.pages.push({ n: parseInt(m[1], 10), el: b, current: (cur && cur !== "false") || b.getAttribute("aria-pressed") === "true" || b.getAttribute("aria-selected") === "true" });
      }
    }
    if (!out.next) out.next = loose.next || last; // "»" is "next" only when nothing else is
    if (!out.prev) out.prev = loose.prev;
    return out;
  }

  // pageSig is what changes when the list shows another page.
  function pageSig() {
    const s = statedCounts();
    return quickEmails().join(",") + "|" + s.from + "-" + s.to;
  }

  // clickAndSettle clicks a paging control once and waits until the list
  // shows something else and has settled (not busy, the same rows twice).
  // It never clicks again: a slow page is waited for, not clicked twice.
  async function clickAndSettle(el, control, stepTimeout) {
    const before = pageSig();
    el.click();
    const changed = await settle(() => !busy() && pageSig() !== before, stepTimeout);
    if (!changed) return err("timeout", control, "the list did not change within " + stepTimeout + " ms after clicking " + control);
    let last = pageSig();
    const stable = await settle(() => { const s = busy() ? null : pageSig(); const ok = s !== null && s === last; last = s; return ok; }, stepTimeout);
    if (!stable) return err("timeout", control, "the list kept changing after clicking " + control);
    return null;
  }

  function enabled(el) { return !!el && !isDisabled(el); }

  // atFirstPage reports whether nothing says the list is past its start.
  function atFirstPage(p, counts) {
    if (enabled(p.prev) || enabled(p.first)) return false;
    if (p.pages.some((x) => x.current && x.n !== 1)) return false;
    if (counts.from > 1) return false;
    return true;
  }

  // rewindPages brings a paged list back to its first page: the first-page
  // control, page 1, or Previous until it is disabled.
  async function rewindPages(stepTimeout, notes) {
    for (let i = 0; i < 100000; i++) {
      const p = pagerControls();
      const counts = statedCounts();
      if (atFirstPage(p, counts)) return { rewound: i > 0 };
      const one = p.pages.find((x) => x.n === 1 && !x.current && enabled(x.el));
      const target = enabled(p.first) ? p.first : one ? one.el : enabled(p.prev) ? p.prev : null;
      if (!target) {
        return err("cannot-rewind", "the first page of the list", "the list is not on its first page (it shows rows " + counts.from + "–" + counts.to + ") and offers no Previous or first-page control");
      }
      const e = await clickAndSettle(target, "the \"" + accName(target) + "\" page control", stepTimeout);
      if (e) return e;
      if (i === 0) notes.push("rewound the list to its first page");
    }
    return err("timeout", "the first page of the list", "could not reach the first page");
  }

  // ---------- scrolling ----------

  function isDocScroller(s) { return s === document.scrollingElement || s === document.documentElement || s === document.body; }

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

  // listScroller is what scrolls the member rows: the scroller of the
  // first member row (invitations listed above the members may sit
  // outside the members' container), else of the first row at all.
  function listScroller() {
    const s = snapshot();
    const member = s.rows.find((r) => { const d = s.byRow.get(r.row); return d && d.kind === "member"; });
    const first = member || s.rows.find((r) => s.byRow.has(r.row));
    return first ? scrollerOf(first.row) : null;
  }

  function jumpTo(scroller, y) {
    if (isDocScroller(scroller)) window.scrollTo(0, y); else scroller.scrollTop = y;
    (isDocScroller(scroller) ? window : scroller).dispatchEvent(new Event("scroll"));
  }

  function maxTop(scroller) { return Math.max(0, scroller.scrollHeight - scroller.clientHeight); }
  function topOf(scroller) { return isDocScroller(scroller) ? (window.scrollY || scroller.scrollTop) : scroller.scrollTop; }

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

  // waitNotBusy waits for the busy markers to go away.
  async function waitNotBusy(timeoutMs) {
    if (!busy()) return true;
    return settle(() => !busy(), timeoutMs);
  }

  // rowsInView counts the email rows inside the scroller's viewport,
  // without describing them.
  function rowsInView(scroller) {
    const vr = isDocScroller(scroller) ? { top: 0, bottom: window.innerHeight } : scroller.getBoundingClientRect();
    let n = 0;
    for (const f of emailElements()) {
      const b = f.el.getBoundingClientRect();
      if (b.bottom > vr.top && b.top < vr.bottom) n++;
    }
    return n;
  }

  // growAtEnd waits, at the bottom of a scroller, for rows that load on
  // reaching the end. It returns "grew", "end" (nothing loading, nothing
  // new after a grace period) or an error.
  // reaction is the slowest reaction to a scroll seen in this scan: the
  // grace period at the end of a scroller is a few times that.
  let reaction = 0;

  function grace() { return Math.min(500, Math.max(120, 3 * (reaction || 100))); }

  async function timedSettle(check, timeoutMs) {
    const t0 = Date.now();
    const ok = await settle(check, timeoutMs);
    if (ok) reaction = Math.max(reaction, Date.now() - t0);
    return ok;
  }

  async function growAtEnd(scroller, stepTimeout, complete) {
    if (!busy() && complete && complete()) return "end"; // every row the page states is seen
    const h = scroller.scrollHeight;
    const n = quickEmails().length;
    const grew = () => scroller.scrollHeight > h + 1 || quickEmails().length > n;
    const t0 = Date.now();
    await settle(() => grew() || busy(), grace());
    if (busy() && !(await waitNotBusy(stepTimeout))) {
      return err("timeout", "the member list", "the list stayed busy for " + stepTimeout + " ms after scrolling to its end");
    }
    if (grew()) { reaction = Math.max(reaction, Math.min(Date.now() - t0, 500)); return "grew"; }
    // one more look: a page may start loading a moment after the scroll
    await settle(() => grew() || busy(), Math.floor(grace() / 3));
    if (busy() && !(await waitNotBusy(stepTimeout))) {
      return err("timeout", "the member list", "the list stayed busy for " + stepTimeout + " ms after scrolling to its end");
    }
    return grew() ? "grew" : "end";
  }

  // scrollThrough walks a scroll container from y to its proven end and
  // feeds every rendered row to visit. It stops early when visit returns
  // true. It returns {hit}, or an error.
  async function scrollThrough(scroller, fromY, visit, stepTimeout, complete) {
    await jumpAndSettle(scroller, fromY, stepTimeout);
    let reach = -1; // the bottom of the lowest row read so far, in scroller coordinates
    for (let guard = 0; guard < 200000; guard++) {
      const s = snapshot();
      const span = rowSpan(scroller, s);
      // the rows now rendered must meet the rows read before: a gap
      // between them would be rows never read
      if (reach >= 0 && span && span.top > reach + 2) {
        const met = await settle(() => { const sp = rowSpan(scroller, snapshot()); return !!sp && sp.top <= reach + 2 && !busy(); }, stepTimeout);
        if (!met) return err("incomplete", "the member list", "after scrolling, the rows rendered start " + Math.round(span.top - reach) + " px below the last row read: rows in between were never rendered");
        continue;
      }
      if (visit(s)) return { hit: true };
      if (span) reach = Math.max(reach, span.bottom);
      const top = topOf(scroller);
      const max = maxTop(scroller);
      if (top >= max - 1) {
        const g = await growAtEnd(scroller, stepTimeout, complete);
        if (g.error) return g;
        if (g === "end") {
          const last = snapshot();
          if (visit(last)) return { hit: true };
          return { hit: false };
        }
        continue;
      }
      // step past the last rendered row, but at least most of a view
      const vr = isDocScroller(scroller) ? { top: 0 } : scroller.getBoundingClientRect();
      const view = isDocScroller(scroller) ? window.innerHeight : (scroller.clientHeight || window.innerHeight);
      // the last row rendered around the view: rows far below it (the
      // invitations after a virtualized list of the window) are not the
      // list's next rows, and stepping to them would skip the rows between
      let lastTop = 0;
      for (const r of s.rows) {
        if (!isDocScroller(scroller) && !scroller.contains(r.row)) continue;
        const b = r.row.getBoundingClientRect();
        const y = b.top - vr.top + top;
        if (y > top + view * 1.5) continue;
        if (y > lastTop) lastTop = y;
      }
      let next = Math.max(top + Math.floor(view * 0.9), Math.floor(lastTop) - 4);
      if (next > top + view * 4) next = top + Math.floor(view * 0.9);
      if (next <= top) next = top + Math.max(1, Math.floor(view * 0.9));
      const sig = quickEmails().join("\n");
      jumpTo(scroller, Math.min(next, max));
      // the page answers a scroll a frame or more later: wait for the
      // rendered rows to change (or a grace period: a list that keeps its
      // rows), then for them to hold still
      await timedSettle(() => quickEmails().join("\n") !== sig || busy(), grace());
      await timedSettle(() => rowsInView(scroller) > 0 && !busy(), stepTimeout);
      await settled(scroller, stepTimeout);
    }
    return err("timeout", "the member list", "the list never reached its end");
  }

  // jumpAndSettle scrolls to y and waits for the page's answer: the
  // rendered rows change (or a grace period passes, for a list that keeps
  // its rows), rows are in view, nothing is busy, and the rows hold still.
  // Reading before the answer would read the rows of the place the list
  // was, as if they were the rows of the place it is.
  async function jumpAndSettle(scroller, y, stepTimeout) {
    const moved = Math.abs(topOf(scroller) - y) > 1;
    const sig = quickEmails().join("\n");
    jumpTo(scroller, y);
    if (moved) await timedSettle(() => quickEmails().join("\n") !== sig || busy(), grace());
    await settle(() => rowsInView(scroller) > 0 && !busy(), stepTimeout);
    await settled(scroller, stepTimeout);
  }

  // rowSpan is the top of the highest and the bottom of the lowest member
  // or invitation row rendered in the scroller, in the scroller's
  // coordinates (the document's for the window).
  function rowSpan(scroller, s) {
    const doc = isDocScroller(scroller);
    const base = (doc ? 0 : scroller.getBoundingClientRect().top) - topOf(scroller);
    const view = doc ? window.innerHeight : (scroller.clientHeight || window.innerHeight);
    const at = topOf(scroller);
    let top = Infinity, bottom = -Infinity;
    for (const r of s.rows) {
      if (!doc && !scroller.contains(r.row)) continue;
      const b = r.row.getBoundingClientRect();
      if (b.height === 0) continue;
      // only the rows around the view: others (a second list further
      // down) are not the ones this step rendered
      const y = b.top - base;
      if (y > at + view * 1.5 || b.bottom - base < at - view) continue;
      top = Math.min(top, y);
      bottom = Math.max(bottom, b.bottom - base);
    }
    return top === Infinity ? null : { top: top, bottom: bottom };
  }

  // settled waits until the rendered rows hold still for two frames.
  async function settled(scroller, stepTimeout) {
    let last = quickEmails().join("\n");
    let still = 0;
    const deadline = Date.now() + stepTimeout;
    while (still < 2 && Date.now() < deadline) {
      await nextFrame();
      const now = busy() ? null : quickEmails().join("\n");
      still = now !== null && now === last ? still + 1 : 0;
      last = now;
    }
    return still >= 2;
  }

  // exploreScroll reads a list that may need scrolling: a virtualized list
  // (rows leave the DOM) is walked from fromTop (or from where it is) to
  // its end; an infinite list (rows are added at the end) is grown until it
  // stops growing. It returns {hit, how}, or an error.
  async function exploreScroll(fromTop, visit, stepTimeout, notes, complete) {
    const scroller = listScroller();
    if (!scroller) {
      return { hit: visit(snapshot()), how: "no scrolling" };
    }
    if (fromTop || topOf(scroller) === 0) {
      if (visit(snapshot())) return { hit: true };
      if (!busy() && complete()) return { hit: false, how: "every row the page states is rendered" };
    }
    if (fromTop && topOf(scroller) > 0) await jumpAndSettle(scroller, 0, stepTimeout);
    if (visit(snapshot())) return { hit: true };
    const startTop = topOf(scroller);
    const before = new Set(quickEmails());
    // jump to the far end: rows that leave the DOM give a virtualized list away
    jumpTo(scroller, scroller.scrollHeight);
    const sameAsBefore = () => { const q = quickEmails(); return q.length === before.size && q.every((e) => before.has(e)); };
    await settle(() => !sameAsBefore() || busy(), grace());
    if (!(await waitNotBusy(stepTimeout))) return err("timeout", "the member list", "the list stayed busy after scrolling");
    await settled(scroller, stepTimeout);
    const after = new Set(quickEmails());
    let lost = false;
    for (const e of before) if (!after.has(e)) { lost = true; break; }
    if (lost) {
      notes.push("virtualized list: scrolled through");
      const r = await scrollThrough(scroller, startTop, visit, stepTimeout, complete);
      if (r.error) return r;
      return { hit: r.hit, how: "scrolled to the end of a virtualized list" };
    }
    // rows are kept: grow the list until it stops growing. A row that
    // leaves the DOM on the way gives a virtualized list away after all
    // (one that answered the first jump late): it is walked from the start.
    let grown = after.size > before.size;
    const kept = new Set(after);
    for (let i = 0; i < 100000; i++) {
      if (visit(snapshot())) return { hit: true };
      jumpTo(scroller, scroller.scrollHeight);
      const g = await growAtEnd(scroller, stepTimeout, complete);
      if (g.error) return g;
      await settled(scroller, stepTimeout);
      const now = new Set(quickEmails());
      let gone = false;
      for (const e of kept) if (!now.has(e)) { gone = true; break; }
      if (gone) {
        notes.push("virtualized list: scrolled through");
        const r = await scrollThrough(scroller, fromTop ? 0 : startTop, visit, stepTimeout, complete);
        if (r.error) return r;
        return { hit: r.hit, how: "scrolled to the end of a virtualized list" };
      }
      for (const e of now) kept.add(e);
      if (g === "end") break;
      grown = true;
    }
    if (grown) notes.push("rows loaded on scroll");
    return { hit: visit(snapshot()), how: grown ? "scrolled until nothing more loaded" : "scrolled to the end" };
  }

  // moreButton finds an enabled "Load more" control.
  function moreButton() {
    for (const b of document.querySelectorAll("button,[role=button],a")) {
      if (!isVisible(b) || inOverlay(b) || isDisabled(b) || b.hasAttribute("aria-haspopup")) continue;
      if (MORE_RE.test(accName(b))) return b;
    }
    return null;
  }

  // loadAllMore clicks "Load more" until it is gone, looking at the rows
  // after each click: visit may stop it early.
  async function loadAllMore(stepTimeout, notes, visit) {
    const all = document.getElementsByTagName("*");
    let more = null;
    for (let pages = 0; pages < 100000; pages++) {
      if (!(more && more.isConnected && isVisible(more) && !isDisabled(more) && MORE_RE.test(accName(more)))) more = moreButton();
      if (!more) return { hit: false };
      const count = all.length;
      const btn = more;
      const sig = quickEmails().length;
      btn.click();
      const ok = await settle(() => (all.length !== count || !btn.isConnected || !isVisible(btn) || isDisabled(btn)) && !busy() && quickEmails().length !== sig, stepTimeout);
      if (!ok) return err("timeout", "the \"Load more\" button", "the list did not grow within " + stepTimeout + " ms after clicking " + accName(btn));
      if (notes.length < 3 || pages % 50 === 0) notes.push("clicked Load more");
      if (visit && visit(snapshot())) return { hit: true };
    }
    return err("timeout", "the \"Load more\" button", "the list never stopped loading more");
  }

  // ---------- the complete scan ----------

  // scan walks the list from its start (rewind) or from where it is, to
  // its proven end: every "Load more" clicked, every page turned, every
  // scroller scrolled to its end with nothing loading. visit sees every
  // snapshot and may stop the scan early by returning true. The answer
  // says how the start and the end were established.
  async function scan(rewind, visit, stepTimeout, notes) {
    const proof = { start: "", end: "", pages: 1 };
    reaction = 0;
    if (rewind) {
      const r = await rewindPages(stepTimeout, notes);
      if (r.error) return r;
      proof.start = r.rewound ? "rewound to the first page" : "the first page";
    } else {
      proof.start = "where the list was";
    }
    let counts = statedCounts();
    // the member rows seen in this scan, and on this page: a page that says
    // which rows it shows ("Showing 26–50 of 300") must show that many
    const allSeen = new Set();
    const invitesSeen = new Set();
    for (;;) {
      const seen = new Set();
      const see = (s) => {
        for (const d of s.members) { seen.add(emailKey(d.email)); allSeen.add(emailKey(d.email)); }
        for (const d of s.invitations) invitesSeen.add(emailKey(d.email));
        // rows that could not be read are rows all the same, told apart by text
        for (const u of s.unreadable || []) {
          const k = "\u0000unreadable\u0000" + unreadableKey(u);
          if (u.kind === "member") { seen.add(k); allSeen.add(k); } else invitesSeen.add(k);
        }
        return visit(s);
      };
      // complete tells, from what the page states, that every row of the
      // page or of the list has been seen: no need to wait for more rows
      const complete = () => {
        const c = statedCounts();
        if (c.from > 0 && c.to >= c.from) {
          // "Showing 1–25 of 64" with no page control: the rest comes by
          // scrolling or Load more, so the 25 are not the whole list
          if (c.of > c.to) { const p = pagerControls(); if (!p.next && p.pages.length === 0) return false; }
          return seen.size === c.to - c.from + 1;
        }
        if (!rewind || c.members.length === 0) return false;
        if (c.members.some((n) => n !== allSeen.size)) return false;
        return c.invitations.every((n) => n === invitesSeen.size) && c.invitations.length > 0;
      };
      const more = await loadAllMore(stepTimeout, notes, see);
      if (more.error) return more;
      if (more.hit) return { hit: true, proof: proof };
      const ex = await exploreScroll(rewind, see, stepTimeout, notes, complete);
      if (ex.error) return ex;
      if (ex.hit) return { hit: true, proof: proof };
      counts = statedCounts();
      if ((rewind || proof.pages > 1) && counts.from > 0 && counts.to >= counts.from && seen.size !== counts.to - counts.from + 1) {
        return err("incomplete", "the member list", "the page says \"" + counts.texts.join("; ") + "\" but shows " + seen.size + " member rows");
      }
      const p = pagerControls();
      let next = p.next;
      let nextName = "the \"Next\" page control";
      if (!next && p.pages.length > 0) {
        // numbered pages without Next: the page after the current one,
        // until the current one is the last number offered
        const cur = p.pages.filter((x) => x.current);
        if (cur.length !== 1) return err("incomplete", "the numbered page controls", "the list has numbered pages but " + (cur.length ? "several are" : "none is") + " marked as the current one");
        const after = p.pages.filter((x) => x.n === cur[0].n + 1 && enabled(x.el));
        if (after.length === 0) {
          if (p.pages.some((x) => x.n > cur[0].n)) return err("incomplete", "the numbered page controls", "page " + (cur[0].n + 1) + " is not offered though a later page is");
          proof.end = "the last numbered page (" + cur[0].n + ")" + (ex.how ? ", " + ex.how : "");
          break;
        }
        next = after[0].el;
        nextName = "the page " + (cur[0].n + 1) + " control";
      }
      if (!next) { proof.end = "no Next control" + (ex.how ? ", " + ex.how : ""); break; }
      if (isDisabled(next)) { proof.end = "the Next control is disabled" + (ex.how ? ", " + ex.how : ""); break; }
      const before = counts;
      const e = await clickAndSettle(next, nextName, stepTimeout);
      if (e) return e;
      proof.pages++;
      counts = statedCounts();
      if (before.to > 0 && counts.from > 0 && counts.from !== before.to + 1) {
        return err("incomplete", "the \"Next\" page control", "the list went from rows " + before.from + "–" + before.to + " to rows " + counts.from + "–" + counts.to + ": a page was skipped or repeated");
      }
      if (proof.pages % 25 === 0 || proof.pages === 2) notes.push("went to page " + proof.pages);
      if (proof.pages > 100000) return err("timeout", "the \"Next\" page control", "the list never reached its last page");
    }
    return { hit: false, proof: proof };
  }

  // accumulate keeps every row seen during a scan, once per kind and email;
  // two rows for one email count twice only when both are rendered at once.
  function accumulate(acc, s) {
    // unreadable rows are told apart by their text: one seen again while
    // scrolling is the same row
    const seen = new Map();
    for (const u of s.unreadable || []) {
      const k = "unreadable\u0000" + u.kind + "\u0000" + unreadableKey(u);
      seen.set(k, (seen.get(k) || []).concat([u]));
    }
    for (const [k, arr] of seen) {
      const prev = acc.get(k) || [];
      for (let i = 0; i < arr.length; i++) prev[i] = arr[i];
      acc.set(k, prev);
    }
    for (const list of [s.members, s.invitations]) {
      const step = new Map();
      for (const d of list) {
        const k = d.kind + "\u0000" + emailKey(d.email);
        const arr = step.get(k) || [];
        arr.push(d);
        step.set(k, arr);
      }
      for (const [k, arr] of step) {
        const prev = acc.get(k) || [];
        for (let i = 0; i < arr.length; i++) {
          if (i < prev.length) prev[i] = arr[i]; else prev.push(arr[i]);
        }
        acc.set(k, prev);
      }
    }
  }

  // unreadableKey tells unreadable rows apart across scroll steps and
  // re-renders: by what in their text looks like an address, else by their
  // text without the words that hold digits ("Active 33s ago" ticks).
  function unreadableKey(u) {
    const words = u.text.split(" ");
    const at = words.filter((w) => w.indexOf("@") >= 0);
    if (at.length) return at.join(" ");
    return words.filter((w) => !/\d/.test(w)).join(" ");
  }

  function tally(acc) {
    const members = [];
    const invitations = [];
    const unreadable = [];
    for (const [k, arr] of acc) {
      if (k.startsWith("unreadable\u0000")) { unreadable.push(...arr); continue; }
      for (const d of arr) (d.kind === "member" ? members : invitations).push(d);
    }
    const n = (kind) => unreadable.filter((u) => u.kind === kind).length;
    // every row the page shows counts against the stated counts, the
    // unreadable ones too: they are reported, not dropped
    return { members: members, invitations: invitations, unreadable: unreadable, seenMembers: members.length + n("member"), seenInvitations: invitations.length + n("invitation") };
  }

  // blocksAbsence reports whether an unreadable row could be the row of
  // email: its text shows that address's local part, or no address at all.
  function blocksAbsence(u, email) {
    const local = emailKey(email).split("@")[0];
    const text = u.text.toLowerCase();
    return text.indexOf("@") < 0 || text.indexOf(local) >= 0;
  }

  // checkCounts compares what a complete scan counted with every count the
  // page states. A mismatch means rows the scan did not see.
  function checkCounts(members, invitations) {
    const c = statedCounts();
    for (const n of c.members) {
      if (n >= 0 && n !== members) {
        return err("incomplete", "the member list", "the page says \"" + c.texts.join("; ") + "\" but a complete scan found " + members + " member rows");
      }
    }
    for (const n of c.invitations) {
      if (n >= 0 && n !== invitations) {
        return err("incomplete", "the pending invitations", "the page says \"" + c.texts.join("; ") + "\" but a complete scan found " + invitations + " pending invitations");
      }
    }
    return null;
  }

  // collect reads every member and invitation with a complete scan from
  // the start of the list to its proven end.
  async function collect(opts) {
    opts = opts || {};
    const stepTimeout = opts.stepTimeoutMs || 5000;
    const ready = await waitReady(opts.readyTimeoutMs || stepTimeout);
    if (ready.info.login) return { info: ready.info };
    if (ready.timeout) return Object.assign({ info: ready.info }, notReady(ready.info));
    const acc = new Map();
    const notes = [];
    const r = await scan(true, (s) => { accumulate(acc, s); return false; }, stepTimeout, notes);
    if (r.error) return Object.assign({ info: pageInfo() }, r);
    const t = tally(acc);
    const e = checkCounts(t.seenMembers, t.seenInvitations);
    if (e) return Object.assign({ info: pageInfo() }, e);
    return { info: pageInfo(), members: t.members, invitations: t.invitations, unreadable: t.unreadable, notes: notes, pages: r.proof.pages, proof: r.proof };
  }

  // ---------- locating one row ----------

  // matchRows returns the rendered rows of kind for email.
  function matchRows(s, email, kind) {
    const want = emailKey(email);
    const hits = [];
    for (const r of s.rows) {
      const d = s.byRow.get(r.row);
      if (d && d.kind === kind && emailKey(d.email) === want) hits.push({ row: r.row, emailEl: r.emailEl, d: d });
    }
    return hits;
  }

  // located answers with the row of email in the snapshot s that a scan
  // found it in.
  function located(s, email, kind, proof, how) {
    const us = unsureRows(s, email, kind);
    if (us.length) return Object.assign({ info: pageInfo(), found: 0 }, unsureError(email, kind, us));
    const hits = matchRows(s, email, kind);
    if (hits.length > 1) return Object.assign({ info: pageInfo(), found: hits.length }, err("ambiguous", "the row of " + email, hits.length + " " + kind + " rows show " + email));
    if (hits.length === 0) return Object.assign({ info: pageInfo() }, err("stale", "the row of " + email, "the row of " + email + " left the page while it was located"));
    return { info: pageInfo(), found: 1, row: hits[0].d, proof: proof, how: how };
  }

  // locate finds the row of email: among the rendered rows, then forward
  // from where the list is, then with a complete scan from its start. Only
  // that complete scan may answer that there is no such row (found 0), and
  // only when its count agrees with every count the page states.
  async function locate(email, kind, opts) {
    opts = opts || {};
    const stepTimeout = opts.stepTimeoutMs || 5000;
    const ready = await waitReady(opts.readyTimeoutMs || stepTimeout);
    if (ready.info.login) return { info: ready.info };
    if (ready.timeout) return Object.assign({ info: ready.info }, notReady(ready.info));
    const want = emailKey(email);
    let hit = null;
    const visit = (s) => {
      const list = kind === "invitation" ? s.invitations : s.members;
      if (!list.some((d) => emailKey(d.email) === want) && !unsureRows(s, email, kind).length) return false;
      hit = s;
      return true;
    };
    const now = ready.snap || snapshot();
    if (visit(now)) return located(now, email, kind, null, "rendered");
    const notes = [];
    if (!opts.fromStartOnly) {
      const fwd = await scan(false, visit, stepTimeout, notes);
      if (fwd.error) return Object.assign({ info: pageInfo() }, fwd);
      if (fwd.hit) return located(hit, email, kind, null, "found ahead");
    }
    const acc = new Map();
    const full = await scan(true, (s) => { accumulate(acc, s); return visit(s); }, stepTimeout, notes);
    if (full.error) return Object.assign({ info: pageInfo() }, full);
    if (full.hit) return located(hit, email, kind, full.proof, "found from the start");
    const t = tally(acc);
    const e = checkCounts(t.seenMembers, t.seenInvitations);
    if (e) return Object.assign({ info: pageInfo(), found: 0 }, e);
    const blocking = t.unreadable.filter((u) => u.kind === kind && blocksAbsence(u, email));
    if (blocking.length) {
      return Object.assign({ info: pageInfo(), found: 0 }, err("unreadable", "the row of " + email,
        "a complete scan did not find " + email + ", but " + blocking.length + " " + kind + " row(s) have controls and no readable email, and could be it: " +
        blocking.map((u) => JSON.stringify(u.text.slice(0, 120))).join("; ")));
    }
    return { info: pageInfo(), found: 0, proof: full.proof, counted: { members: t.members.length, invitations: t.invitations.length }, notes: notes };
  }

  // rendered counts the rows of email among the rows in the DOM now,
  // without scrolling or paging, once the page has settled.
  async function rendered(email, kind, opts) {
    opts = opts || {};
    const ready = await waitReady(opts.readyTimeoutMs || 5000);
    if (ready.info.login) return { info: ready.info };
    if (ready.timeout) return Object.assign({ info: ready.info }, notReady(ready.info));
    const hits = matchRows(snapshot(), email, kind);
    return { info: pageInfo(), found: hits.length, row: hits.length === 1 ? hits[0].d : null };
  }

  // ---------- pointing at controls, and the click guard ----------

  // The guard checks a click when it happens. Armed with a description of
  // what the next click must hit, it looks at the real (trusted) pointer
  // and mouse events of that click in the capture phase, before the page
  // sees them, and stops every event of a click that would land elsewhere:
  // a row re-rendered for another member, a control that moved, a menu
  // that belongs to another row.
  let guard = null;
  const GUARD_EVENTS = ["pointerdown", "mousedown", "pointerup", "mouseup", "click"];

  function armGuard(spec) {
    guard = { spec: spec, events: 0, clicked: false, tripped: "", at: Date.now() };
  }

  function onGuardEvent(e) {
    if (!guard || !e.isTrusted) return;
    guard.events++;
    if (!guard.tripped) {
      const why = guardCheck(e.target, guard.spec);
      if (why) guard.tripped = why;
    }
    if (guard.tripped) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
    if (e.type === "click") guard.clicked = true;
  }

  for (const t of GUARD_EVENTS) window.addEventListener(t, onGuardEvent, true);

  // guardResult reports what became of the armed click and disarms it.
  function guardResult() {
    const g = guard;
    guard = null;
    if (!g) return { armed: false };
    return { armed: true, events: g.events, clicked: g.clicked, ok: g.clicked && !g.tripped, reason: g.tripped || (g.clicked ? "" : "no click reached the page") };
  }

  // rowOfElement returns the described row that holds el, if any.
  function rowOfElement(el) {
    const s = snapshot();
    let best = null;
    for (const r of s.rows) {
      const d = s.byRow.get(r.row);
      if (d && r.row.contains(el) && (!best || best.row.contains(r.row))) best = { row: r.row, d: d };
    }
    return best;
  }

  function controlMatches(row, control, el) {
    const rc = roleControl(row);
    if (control === "role") return !!rc && (rc.el === el || rc.el.contains(el) || el.contains(rc.el));
    if (control === "remove") return removeControl(row, rc ? rc.el : null).some((c) => c === el || c.contains(el));
    if (control === "menu") return actionsMenuButtons(row, rc).some((c) => c === el || c.contains(el));
    return false;
  }

  function guardCheck(target, spec) {
    if (!target || !target.closest) return "the click hit no element";
    if (spec.via === "row") {
      const ctl = target.closest(CLICKABLE_SEL);
      if (!ctl) return "the click landed outside any control";
      if (spec.row && spec.row.isConnected && spec.row.contains(ctl)) {
        // the row pointed at is still there: it must still show the target
        // as its email, and be sure of it
        const id = rowIdentity(spec.row);
        if (id.unsure || !id.email || emailKey(id.email) !== emailKey(spec.email)) {
          const shown = emailElements(spec.row).map((f) => f.email);
          return "the click landed on a row that now shows " + (shown.join(", ") || "no email") + ", not " + spec.email;
        }
        if (!controlMatches(spec.row, spec.control, ctl)) return "the click landed on another control of the row (" + accName(ctl) + ")";
        return "";
      }
      const r = rowOfElement(ctl);
      if (!r) return "the click landed outside the member rows";
      if (r.d.kind !== spec.kind || emailKey(r.d.email) !== emailKey(spec.email)) {
        return "the click landed on the row of " + r.d.email + ", not " + spec.email;
      }
      if (!controlMatches(r.row, spec.control, ctl)) return "the click landed on another control of the row (" + accName(ctl) + ")";
      return "";
    }
    if (spec.via === "popup") {
      const item = target.closest(ITEM_SEL);
      if (!item || !item.closest(POPUP_SEL)) return "the click landed outside the open list";
      if (!new RegExp(spec.pattern, "i").test(itemLabel(item, spec.role))) return "the click landed on \"" + accName(item) + "\"";
      const owner = popupOwnerRow();
      if (owner && spec.email && (owner.d.kind !== spec.kind || emailKey(owner.d.email) !== emailKey(spec.email))) {
        return "the open list belongs to the row of " + owner.d.email + ", not " + spec.email;
      }
      return "";
    }
    if (spec.via === "dialog") {
      const ds = openDialogs();
      const d = ds[ds.length - 1];
      if (!d || !d.contains(target)) return "the click landed outside the open dialog";
      const b = target.closest("button,[role=button],input[type=submit],input[type=button]");
      if (!b || !new RegExp(spec.pattern, "i").test(accName(b))) return "the click landed on \"" + (b ? accName(b) : target.tagName.toLowerCase()) + "\", not the " + spec.control;
      return "";
    }
    if (spec.via === "inert") {
      const why = notInert(target);
      return why ? "the click meant to land outside the open list landed on " + why : "";
    }
    if (spec.via === "page") {
      const b = target.closest(CLICKABLE_SEL);
      if (!b || !new RegExp(spec.pattern, "i").test(accName(b))) return "the click landed on \"" + (b ? accName(b) : target.tagName.toLowerCase()) + "\", not the " + spec.control;
      return "";
    }
    return "";
  }

  // popupOwnerRow returns the row whose control says it has a popup open
  // (aria-expanded), when one does.
  function popupOwnerRow() {
    for (const t of document.querySelectorAll("[aria-expanded=true]")) {
      if (inOverlay(t)) continue;
      const r = rowOfElement(t);
      if (r) return r;
    }
    return null;
  }

  // hitTest returns the centre of el's box when a click there lands on el
  // and el is in the viewport, or an error naming what is in the way.
  function hitTest(el, control) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return err("contract", control, "the " + control + " has no size on the page");
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) return err("covered", control, "the " + control + " is out of view");
    const hit = document.elementFromPoint(x, y);
    if (!hit || !(hit === el || el.contains(hit) || (hit.contains(el) && hit.closest("label")))) {
      const what = hit ? hit.tagName.toLowerCase() + (hit.getAttribute("role") ? "[role=" + hit.getAttribute("role") + "]" : "") : "nothing";
      return err("covered", control, "the " + control + " is covered by " + what + " (or clipped by its scroller)");
    }
    return { x: x, y: y, name: accName(el) };
  }

  // centre returns where to click el: its centre, after scrolling it into
  // view when a click there would not land on it. scrolled says whether it
  // had to scroll.
  function centre(el, control) {
    if (!el.isConnected) return err("stale", control, "the " + control + " was re-rendered before it could be clicked");
    const p = hitTest(el, control);
    if (!p.error || p.error.kind !== "covered") return p;
    el.scrollIntoView({ block: "center", inline: "nearest" });
    return Object.assign(hitTest(el, control), { scrolled: true });
  }

  // roomForPopup scrolls a control that opens a list (a role combobox, an
  // actions menu) to the middle of the view when it sits in the lower part
  // of the window: a list that opens below it and does not flip would
  // otherwise open out of view. It says whether it scrolled.
  function roomForPopup(el) {
    const r = el.getBoundingClientRect();
    if (r.bottom <= window.innerHeight * 0.55) return false;
    const before = r.top;
    el.scrollIntoView({ block: "center", inline: "nearest" });
    return Math.abs(el.getBoundingClientRect().top - before) >= 1;
  }

  const CONTROL_NAMES = { remove: "remove (trash) control", role: "role dropdown", menu: "actions menu" };

  // findControl resolves control ("remove" or "role") in the one rendered
  // row of (kind, email). A row whose remove control sits in an actions
  // menu answers with the menu's button and menu: true.
  function findControl(email, kind, control) {
    if (control !== "role" && control !== "remove") return err("usage", control, "unknown control " + control);
    const s = snapshot();
    const us = unsureRows(s, email, kind);
    if (us.length) return unsureError(email, kind, us);
    const hits = matchRows(s, email, kind);
    if (hits.length === 0) return { rendered: false };
    if (hits.length > 1) return err("ambiguous", "the row of " + email, hits.length + " " + kind + " rows show " + email);
    const row = hits[0].row;
    const rc = roleControl(row);
    if (control === "role") {
      if (!rc) return err("contract", "the role dropdown", "no role dropdown in the row of " + email + ": no <select> of roles and no button or combobox showing a role");
      return { el: rc.el, kind: rc.kind, disabled: isDisabled(rc.el), control: "role", current: hits[0].d.role, row: row };
    }
    const removes = removeControl(row, rc ? rc.el : null);
    if (removes.length > 1) {
      const on = removes.filter((h) => !isDisabled(h));
      if (on.length !== 1) return err("ambiguous", "the remove (trash) control", removes.length + " controls in the row of " + email + " look like remove controls");
      return { el: on[0], disabled: false, control: "remove", row: row };
    }
    if (removes.length === 1) return { el: removes[0], disabled: isDisabled(removes[0]), control: "remove", row: row };
    const menus = actionsMenuButtons(row, rc);
    if (menus.length === 1) return { el: menus[0], disabled: isDisabled(menus[0]), control: "menu", menu: true, row: row };
    if (menus.length > 1) return err("ambiguous", "the actions menu", menus.length + " buttons in the row of " + email + " open menus");
    return err("contract", "the remove (trash) control", "no remove control in the row of " + email + ": no button named Remove/Delete/Revoke, no trash icon and no actions menu");
  }

  // pointControl resolves the control of a described row, brings it into
  // view, resolves it again after the page reacted to the scroll, and arms
  // the click guard for it. {rendered: false} means the row is not in the
  // DOM now: the caller locates it again.
  async function pointControl(email, kind, control) {
    let last = null;
    let roomed = false;
    for (let attempt = 0; attempt < 6; attempt++) {
      const f = findControl(email, kind, control);
      if (f.error || f.rendered === false) return f;
      if (f.disabled) return { disabled: true, control: f.control, kind: f.kind || "", menu: !!f.menu };
      const p = centre(f.el, CONTROL_NAMES[f.control]);
      if (p.error) {
        if (p.error.kind !== "covered" && p.error.kind !== "stale") return p;
        last = p;
        await nextFrame();
        continue;
      }
      if (p.scrolled) {
        // the scroll may have re-created the row: resolve it again
        await nextFrame();
        continue;
      }
      if (!roomed && (f.menu || f.kind === "popup")) {
        roomed = true;
        if (roomForPopup(f.el)) {
          await nextFrame();
          continue;
        }
      }
      armGuard({ via: "row", email: email, kind: kind, control: f.control, row: f.row });
      return Object.assign(p, { control: f.control, kind: f.kind || "", menu: !!f.menu, current: f.current || "" });
    }
    return last || err("stale", "the " + CONTROL_NAMES[control], "the row of " + email + " kept moving while it was pointed at");
  }

  // selectRole sets the native <select> of the row of email the way a
  // person's choice would: the value, then input and change events. The
  // row is resolved in the same task, so it is the row that shows email.
  function selectRole(email, role) {
    const f = findControl(email, "member", "role");
    if (f.error) return f;
    if (f.rendered === false) return { rendered: false };
    if (f.kind !== "select") return err("contract", "the role dropdown", "the row's role dropdown is not a <select>");
    if (f.disabled) return err("refused", "the role dropdown", "the role dropdown of " + email + " is disabled");
    return setSelect(f.el, role);
  }

  function setSelect(el, role) {
    const opt = Array.from(el.options).find((o) => roleOfOption(o) === role);
    if (!opt) return err("contract", "the role option " + role, "the role dropdown has no option " + role + " (options: " + Array.from(el.options).map((o) => norm(o.textContent)).join(", ") + ")");
    if (opt.disabled) return err("refused", "the role option " + role, "the option " + role + " is disabled");
    const setter = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set;
    el.focus();
    setter.call(el, opt.value);
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    return { ok: true };
  }

  // roleOfOption reads the role an option stands for, also when it carries
  // a description: "Editor – Can create and edit tables", or the role and
  // its description in two elements.
  function roleOfOption(o) {
    const name = accName(o).replace(/[✓✔]/g, "");
    const whole = canonicalRole(name);
    if (whole) return whole;
    for (const el of o.querySelectorAll("*")) {
      let own = "";
      for (const n of el.childNodes) if (n.nodeType === 3) own += n.nodeValue;
      own = norm(own);
      if (own) { const r = canonicalRole(own); if (r) return r; break; }
    }
    const m = ROLE_LEAD_RE.exec(norm(name));
    return m ? canonicalRole(m[1]) : "";
  }

  function itemLabel(item, role) {
    return role ? roleOfOption(item) : accName(item);
  }

  function openPopups() {
    return Array.from(document.querySelectorAll(POPUP_SEL)).filter(isVisible);
  }

  // popupItem points at the one item of the open listbox or menu that
  // matches: the option for role (role set), or an item whose name matches
  // pattern. It arms the guard for it.
  function popupItem(email, kind, role, pattern, control) {
    const pops = openPopups();
    if (pops.length === 0) return err("contract", control, "no listbox or menu is open");
    const re = new RegExp(pattern || "^$", "i");
    const hits = [];
    const all = [];
    for (const p of pops) {
      for (const o of p.querySelectorAll(ITEM_SEL)) {
        if (!isVisible(o)) continue;
        all.push(accName(o));
        if (role ? roleOfOption(o) === role : re.test(accName(o))) hits.push(o);
      }
    }
    if (hits.length === 0) return err("contract", control, "the open list has no " + control + " (its items: " + (all.join(", ") || "none") + ")");
    if (hits.length > 1) return err("ambiguous", control, hits.length + " items of the open list match the " + control);
    if (isDisabled(hits[0])) return err("refused", control, "the " + control + " is disabled");
    const p = centre(hits[0], control);
    if (p.error) return p;
    armGuard({ via: "popup", email: email, kind: kind, role: role, pattern: role ? "^" + role + "$" : pattern, control: control });
    return p;
  }

  function popupOpen() {
    return openPopups().length > 0;
  }

  // closePopup presses Escape for the open listboxes and menus: the first
  // of the gestures that close a popup (Escape, a click outside it, its
  // trigger again). A page may honour only some of them; the flows try
  // the others when the popup stays open (inertPoint, then the trigger).
  function closePopup() {
    const target = document.activeElement || document.body;
    for (const t of [target, document]) t.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", code: "Escape", bubbles: true }));
    return { open: popupOpen() };
  }

  // ACTIVE_SEL is whatever a click may act on besides the controls of
  // CLICKABLE_SEL: fields, labels, focusable elements, live messages.
  const ACTIVE_SEL = CLICKABLE_SEL + ",input,textarea,label,summary,details,[contenteditable]:not([contenteditable=false]),[tabindex],[draggable=true]," +
    "[role=link],[role=tab],[role=switch],[role=checkbox],[role=radio],[role=slider],[role=textbox],[role=searchbox],[role=alert],[role=status]";

  // notInert says why a click on el could act on something: el is (in) a
  // control or a field, inside the open list, in a row (whose controls a
  // click there might reach), or outside the topmost open dialog (a click
  // there may dismiss it). "" means the click is inert.
  function notInert(el, rowEls) {
    if (!el || !el.closest) return "nothing";
    const c = el.closest(ACTIVE_SEL);
    if (c) return "a control (" + (accName(c) || c.tagName.toLowerCase()) + ")";
    if (el.closest(POPUP_SEL)) return "the open list";
    const ds = openDialogs();
    if (ds.length) {
      if (!ds[ds.length - 1].contains(el)) return "the page outside the open dialog";
    } else if (el.closest(DIALOG_SEL)) {
      return "a dialog";
    }
    for (const r of rowEls || rows().map((x) => x.row)) if (r.contains(el)) return "a row";
    return "";
  }

  // inertPoint finds a point of the viewport whose click acts on nothing
  // (see notInert), to close a popup that closes only on a click outside
  // it: a heading first, else the first clear point of a grid over the
  // viewport. It arms the click guard, which stops the click unless it
  // lands on such a point.
  function inertPoint() {
    const W = window.innerWidth, H = window.innerHeight;
    const pts = [];
    for (const h of document.querySelectorAll(HEADING_SEL)) {
      if (!isVisible(h) || h.closest(POPUP_SEL)) continue;
      const r = h.getBoundingClientRect();
      pts.push([r.left + Math.min(6, r.width / 2), r.top + r.height / 2]);
    }
    for (let j = 1; j < 16; j++) for (let i = 1; i < 16; i++) pts.push([Math.floor(W * i / 16), Math.floor(H * j / 16)]);
    const rowEls = rows().map((x) => x.row);
    for (const [x, y] of pts) {
      if (!(x >= 1 && y >= 1 && x < W - 1 && y < H - 1)) continue;
      const el = document.elementFromPoint(x, y);
      if (!el || notInert(el, rowEls)) continue;
      armGuard({ via: "inert", control: "an empty spot of the page" });
      return { x: x, y: y, name: norm(el.textContent).slice(0, 40) || el.tagName.toLowerCase() };
    }
    return err("contract", "an empty spot of the page", "no point in view is clear of controls, rows, dialogs and the open list, so nothing can be clicked outside the list");
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
    const p = centre(hits[0], control);
    if (p.error) return p;
    armGuard({ via: "dialog", pattern: pattern, control: control });
    return p;
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
      .filter((a) => isVisible(a) && !a.closest(DIALOG_SEL) && !/^loading\b/i.test(accName(a)) && !SHOWING_RE.test(norm(a.textContent)))
      .map((a) => norm(a.textContent)).filter((t) => t);
  }

  // ---------- invite ----------

  function inviteButton() {
    const hits = Array.from(document.querySelectorAll("button,[role=button],a")).filter((b) => isVisible(b) && !inOverlay(b) && isInviteLabel(accName(b)));
    if (hits.length === 0) return err("contract", "the \"+ Invite\" button", "no button labelled Invite on the page");
    if (hits.length > 1) return err("ambiguous", "the \"+ Invite\" button", hits.length + " buttons labelled Invite");
    if (isDisabled(hits[0])) return err("refused", "the \"+ Invite\" button", "the Invite button is disabled");
    const p = centre(hits[0], "\"+ Invite\" button");
    if (p.error) return p;
    armGuard({ via: "page", pattern: "^\\+?\\s*invite", control: "\"+ Invite\" button" });
    return p;
  }

  function dialogEmailField() {
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
    return { el: hits[0] };
  }

  // focusInviteEmail focuses (and selects) the open dialog's email field.
  function focusInviteEmail() {
    const f = dialogEmailField();
    if (f.error) return f;
    f.el.focus();
    if (typeof f.el.select === "function") f.el.select();
    return { value: f.el.value || "" };
  }

  function inviteEmailValue() {
    const f = dialogEmailField();
    if (f.error) return f;
    return { value: f.el.value || "" };
  }

  function labelOf(i) {
    if (i.labels && i.labels.length) return Array.from(i.labels).map((l) => l.textContent).join(" ");
    const l = i.closest("label");
    return l ? l.textContent : "";
  }

  function inviteDialog() {
    const ds = openDialogs();
    if (ds.length === 0) return err("contract", "the invite dialog", "no dialog open");
    return { el: ds[ds.length - 1] };
  }

  // inviteRoleControl finds the invite dialog's role dropdown and, for a
  // button that opens a list, points at it.
  function inviteRoleControl() {
    const d = inviteDialog();
    if (d.error) return d;
    const rc = roleControl(d.el);
    if (!rc) return { none: true };
    if (rc.kind === "select") {
      const o = rc.el.selectedOptions && rc.el.selectedOptions[0];
      return { kind: "select", current: o ? roleOfOption(o) : "", options: Array.from(rc.el.options).map((x) => roleOfOption(x) || norm(x.textContent)) };
    }
    const p = centre(rc.el, "role dropdown of the invite dialog");
    if (p.error) return p;
    armGuard({ via: "page", pattern: ".", control: "role dropdown of the invite dialog" });
    return Object.assign({ kind: "popup", current: rc.current }, p);
  }

  function inviteSelectRole(role) {
    const d = inviteDialog();
    if (d.error) return d;
    const rc = roleControl(d.el);
    if (!rc || rc.kind !== "select") return err("contract", "the role dropdown of the invite dialog", "the invite dialog has no <select> of roles");
    return setSelect(rc.el, role);
  }

  // ---------- probing the controls (agent doctor) ----------

  // hookOf names the hook a control was identified by: its visible text,
  // its ARIA name, its title, its icon, or the page's structure.
  function hookOf(el, what) {
    const aria = norm(el.getAttribute("aria-label") || "");
    const text = norm(el.innerText !== undefined ? el.innerText : el.textContent);
    const title = el.getAttribute("title") || "";
    switch (what) {
      case "remove":
        if (REMOVE_NAME_RE.test(text)) return "text";
        if (REMOVE_NAME_RE.test(aria) || REMOVE_NAME_RE.test(accName(el))) return "ARIA name";
        if (REMOVE_NAME_RE.test(title)) return "title";
        if (TRASH_ICON_RE.test(iconIdentity(el))) return "icon";
        return "structure";
      case "role":
        if (el.tagName === "SELECT") return "structure (a select of roles)";
        if (canonicalRole(text)) return "text";
        return "ARIA name";
      case "menu":
        return "structure (a button that opens a menu" + (aria ? ", ARIA name \"" + aria + "\"" : "") + ")";
      case "email field":
        if (el.type === "email") return "input type email";
        if (/e-?mail/i.test(labelOf(el))) return "label";
        if (/e-?mail/i.test(el.getAttribute("aria-label") || "")) return "ARIA name";
        return "name or placeholder";
      default:
        if (text && (!aria || text === aria)) return "text";
        return aria ? "ARIA name" : "text";
    }
  }

  // roleControls counts the controls of a row (or dialog) that look like
  // a role dropdown: a role control must be unique to be trusted.
  function roleControls(root) {
    let n = 0;
    for (const sel of root.querySelectorAll("select")) {
      if ((isVisible(sel) || sel.getBoundingClientRect().height > 0) && Array.from(sel.options).some((o) => canonicalRole(o.textContent))) n++;
    }
    for (const c of root.querySelectorAll("[role=combobox],[aria-haspopup]:not([aria-haspopup=false])")) {
      if (isVisible(c) && !c.closest("select") && canonicalRole(c.matches("input") ? c.value : accName(c))) n++;
    }
    return n;
  }

  // probeRow describes how the role and remove controls of the row of
  // email are found, without touching them: found, by which hook, unique.
  function probeRow(email, kind) {
    const s = snapshot();
    const us = unsureRows(s, email, kind);
    if (us.length) return unsureError(email, kind, us);
    const hits = matchRows(s, email, kind);
    if (hits.length === 0) return { rendered: false };
    if (hits.length > 1) return err("ambiguous", "the row of " + email, hits.length + " " + kind + " rows show " + email);
    const row = hits[0].row;
    const rc = roleControl(row);
    const out = { rendered: true };
    if (rc) {
      out.role = { found: true, hook: hookOf(rc.el, "role"), count: roleControls(row), kind: rc.kind, disabled: isDisabled(rc.el) };
    } else {
      out.role = { found: false, count: 0 };
    }
    const removes = removeControl(row, rc ? rc.el : null);
    if (removes.length) {
      out.remove = { found: true, hook: hookOf(removes[0], "remove"), count: removes.length, disabled: removes.every(isDisabled) };
    } else {
      const menus = actionsMenuButtons(row, rc);
      out.remove = menus.length
        ? { found: true, menu: true, hook: hookOf(menus[0], "menu"), count: menus.length, disabled: menus.every(isDisabled) }
        : { found: false, count: 0 };
    }
    return out;
  }

  // probeItem describes the item of the open list that matches pattern.
  function probeItem(pattern) {
    const re = new RegExp(pattern, "i");
    const hits = [];
    for (const p of openPopups()) {
      for (const o of p.querySelectorAll(ITEM_SEL)) if (isVisible(o) && re.test(accName(o))) hits.push(o);
    }
    return hits.length ? { found: true, hook: hookOf(hits[0], "item"), count: hits.length, disabled: isDisabled(hits[0]) } : { found: false, count: 0 };
  }

  // probeInvite describes the Invite button, and with the invite dialog
  // open its email field, role dropdown and send button (matching
  // sendPattern), without touching them.
  function probeInvite(sendPattern) {
    const buttons = Array.from(document.querySelectorAll("button,[role=button],a")).filter((b) => isVisible(b) && !inOverlay(b) && isInviteLabel(accName(b)));
    const out = { button: buttons.length ? { found: true, hook: hookOf(buttons[0], "button"), count: buttons.length } : { found: false, count: 0 } };
    const ds = openDialogs();
    if (!ds.length) return out;
    const d = ds[ds.length - 1];
    const f = dialogEmailField();
    out.email = f.error ? { found: f.error.kind === "ambiguous", count: f.error.kind === "ambiguous" ? 2 : 0, message: f.error.message } : { found: true, hook: hookOf(f.el, "email field"), count: 1 };
    const rc = roleControl(d);
    out.role = rc ? { found: true, hook: hookOf(rc.el, "role"), count: roleControls(d), kind: rc.kind } : { found: false, count: 0 };
    const re = new RegExp(sendPattern, "i");
    const sends = Array.from(d.querySelectorAll("button,[role=button],input[type=submit],input[type=button]"))
      .filter((b) => isVisible(b) && !/^(cancel|close|no|back|dismiss|×|x)$/i.test(accName(b)) && re.test(accName(b)));
    out.send = sends.length ? { found: true, hook: hookOf(sends[0], "button"), count: sends.length } : { found: false, count: 0 };
    return out;
  }

  // ---------- login ----------

  // A button that names another way to sign in (a provider, SSO, a
  // passkey) is never the one to press.
  const PROVIDER_RE = /\b(google|microsoft|apple|github|gitlab|sso|saml|okta|azure|linkedin|facebook|workos|single sign[\s-]?on|passkey)\b/i;
  // The names of the buttons that move an email and password sign-in on.
  const SIGNIN_NAME_RE = /^(continue|next|sign in|sign-in|signin|log in|log-in|login|submit|(continue|sign in|log in) with (e-?mail|password))$/i;
  // A field that asks for a one-time code, by its name, label or placeholder.
  const OTP_NAME_RE = /\b(one[\s-]?time|otp|2fa|two[\s-]?factor|mfa|authenticator|verification|security code|passcode|code)\b/i;
  const CAPTCHA_RE = /captcha|turnstile/i;
  const HUMAN_RE = /\b(verify (that )?you('re| are) (a )?human|are you (a )?(human|robot)|confirm (that )?you('re| are) (a )?human|i('m| am) not a robot|i am human)\b/i;
  // Texts that say a sign-in is under way, not that it failed.
  const SIGNING_IN_RE = /^(signing in|logging in|loading|redirecting|please wait|verifying)\b/i;
  const TEXT_INPUT_EXCLUDED = /^(hidden|checkbox|radio|submit|button|reset|image|file|range|color)$/i;

  function fieldWords(i) {
    return [i.name || "", i.getAttribute("placeholder") || "", i.getAttribute("aria-label") || "", labelOf(i)].join(" ");
  }

  function textInputs(root) {
    return Array.from((root || document).querySelectorAll("input")).filter((i) => !TEXT_INPUT_EXCLUDED.test(i.type) && isVisible(i) && !ariaHidden(i));
  }

  // isEmailField: an <input type=email>, or a text field whose name,
  // placeholder, label or autocomplete says email or user name.
  function isEmailField(i) {
    return i.type === "email" ||
      (i.type !== "password" && /e-?mail|user/i.test(fieldWords(i) + " " + (i.getAttribute("autocomplete") || "")));
  }

  // emailFields are the visible fields that take the account's email.
  function emailFields(root) {
    return textInputs(root).filter(isEmailField);
  }

  function passwordFields() {
    return Array.from(document.querySelectorAll("input[type=password]")).filter((i) => isVisible(i) && !ariaHidden(i));
  }

  function formOf(el) {
    return el.form || el.closest("form,[role=form]");
  }

  function isProvider(b) {
    return PROVIDER_RE.test(accName(b) + " " + (b.getAttribute("title") || "") + " " + (b.value || "") + " " + iconIdentity(b));
  }

  // otpField returns a visible field that asks for a one-time code:
  // autocomplete=one-time-code, a name, label or placeholder that says
  // code, verification, 2FA, authenticator…, or a row of four or more
  // one-character fields.
  function otpField() {
    const ins = textInputs(document).filter((i) => i.type !== "password" && !isEmailField(i));
    for (const i of ins) {
      if ((i.getAttribute("autocomplete") || "").toLowerCase() === "one-time-code") return { el: i, why: "a field with autocomplete=one-time-code" + (norm(labelOf(i)) ? " labelled \"" + norm(labelOf(i)) + "\"" : "") };
    }
    for (const i of ins) {
      const w = norm(fieldWords(i));
      if (OTP_NAME_RE.test(w)) return { el: i, why: "a field labelled \"" + w.slice(0, 80) + "\"" };
    }
    const singles = ins.filter((i) => i.maxLength === 1);
    if (singles.length >= 4) return { el: singles[0], why: singles.length + " one-character fields" };
    return null;
  }

  // captchaSeen names a visible CAPTCHA: a frame or element whose title,
  // name, label or address says captcha, recaptcha, hcaptcha or turnstile
  // (a reCAPTCHA that says size=invisible asks nothing and is let be), an
  // element carrying a CAPTCHA site key, or text asking to prove one is
  // human.
  function captchaSeen() {
    for (const el of document.querySelectorAll("iframe,[data-sitekey],[title],[name],[aria-label]")) {
      if (!isVisible(el)) continue;
      const src = el.tagName === "IFRAME" ? (el.getAttribute("src") || "") : "";
      const words = [el.getAttribute("title") || "", el.getAttribute("name") || "", el.getAttribute("aria-label") || "", src].join(" ");
      if (el.hasAttribute("data-sitekey") || CAPTCHA_RE.test(words)) {
        if (/[?&]size=invisible\b/i.test(src)) continue;
        const label = norm(el.getAttribute("title") || el.getAttribute("aria-label") || el.getAttribute("name") || src) || "a CAPTCHA widget";
        return (el.tagName === "IFRAME" ? "a frame " : "an element ") + "\"" + label.slice(0, 80) + "\"";
      }
    }
    const text = norm(document.body ? document.body.innerText : "");
    const m = HUMAN_RE.exec(text);
    if (m) return "the text \"" + m[0] + "\"";
    return "";
  }

  // signInButton finds the button that moves the step of field on: in
  // field's form, a submit button or one named Continue/Next/Sign in/Log in;
  // with none there, the one button on the page with such a name. A button
  // naming a provider (Google, Microsoft, Apple, GitHub, SSO, SAML, Okta…)
  // is never one.
  function signInButton(field) {
    const all = Array.from(document.querySelectorAll("button,[role=button],input[type=submit],input[type=button]"))
      .filter((b) => isVisible(b) && !ariaHidden(b) && !isProvider(b));
    const named = (b) => SIGNIN_NAME_RE.test(accName(b));
    const form = formOf(field);
    if (form) {
      const inForm = all.filter((b) => (b.form === form || form.contains(b)) && (named(b) || ((b.tagName === "BUTTON" || b.tagName === "INPUT") && b.type === "submit")));
      const byName = inForm.filter(named);
      const pick = byName.length > 0 ? byName : inForm;
      if (pick.length === 1) return { el: pick[0] };
      if (pick.length > 1) return err("ambiguous", "the sign-in button", pick.length + " buttons could submit the login form: " + pick.map((b) => "\"" + accName(b) + "\"").join(", "));
    }
    const outside = all.filter((b) => named(b) && !(form && form.contains(b)) && !inOverlay(b));
    if (outside.length === 1) return { el: outside[0] };
    if (outside.length > 1) return err("ambiguous", "the sign-in button", outside.length + " buttons named Continue, Next, Sign in or Log in: " + outside.map((b) => "\"" + accName(b) + "\"").join(", "));
    return err("contract", "the sign-in button", "no button in the login form and none named Continue, Next, Sign in or Log in (buttons naming Google, SSO or another provider are never pressed)");
  }

  // loginStep says what the login page asks for now: "captcha" and "otp"
  // (which the agent cannot give) before anything else, then "password"
  // (the one-page form, or the second step of a two-step one), "email"
  // (the first step: an email field and no password field, on a page
  // without the Team page's heading), or "none".
  function loginStep() {
    const c = captchaSeen();
    if (c) return { step: "captcha", seen: c };
    const o = otpField();
    if (o) return { step: "otp", seen: o.why };
    const pw = passwordFields();
    if (pw.length > 0) {
      const em = emailFields(formOf(pw[0]) || document).filter((i) => !i.readOnly && !i.disabled);
      return { step: "password", emailField: em.length > 0 };
    }
    if (teamHeading()) return { step: "none" };
    const em = emailFields(document).filter((i) => !inOverlay(i) && !i.readOnly && !i.disabled);
    if (em.length > 0) return { step: "email" };
    return { step: "none" };
  }

  // loginEmailStepShown reports the first step of a two-step sign-in, on a
  // page that is not the Team page: one email field (type=email, or
  // autocomplete email or username) in a form, outside dialogs, whose own
  // button is named Continue, Next, Sign in or Log in.
  function loginEmailStepShown() {
    const em = textInputs(document).filter((i) => (i.type === "email" || /^(email|username)$/i.test(i.getAttribute("autocomplete") || "")) && !inOverlay(i) && !i.readOnly && !i.disabled);
    if (em.length !== 1) return false;
    const form = formOf(em[0]);
    if (!form || teamHeading()) return false;
    const b = signInButton(em[0]);
    return !b.error && (b.el.form === form || form.contains(b.el)) && SIGNIN_NAME_RE.test(accName(b.el));
  }

  function loginField(which) {
    if (which === "password") {
      const pw = passwordFields();
      if (pw.length === 0) return err("contract", "the password field", "no visible password field");
      if (pw.length > 1) return err("ambiguous", "the password field", pw.length + " password fields on the login page");
      return { el: pw[0] };
    }
    const pw = passwordFields();
    const root = pw.length > 0 ? (formOf(pw[0]) || document) : document;
    const em = emailFields(root).filter((i) => !inOverlay(i) && !i.readOnly && !i.disabled);
    if (em.length === 0) return err("contract", "the email field", "no visible email field (an <input type=email>, or a field whose label, name or placeholder says email)");
    if (em.length > 1) return err("ambiguous", "the email field", em.length + " email fields on the login page");
    return { el: em[0] };
  }

  // focusLoginField focuses the login page's "email" or "password" field
  // and selects what it holds, so that typing replaces it.
  function focusLoginField(which) {
    const f = loginField(which);
    if (f.error) return f;
    f.el.focus();
    if (typeof f.el.select === "function") f.el.select();
    if (document.activeElement !== f.el) return err("covered", "the " + which + " field", "the " + which + " field did not take the focus");
    return { ok: true };
  }

  // loginEmailValue returns what the email field holds.
  function loginEmailValue() {
    const f = loginField("email");
    if (f.error) return f;
    return { value: f.el.value };
  }

  function reEscape(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  // loginSubmit points at the button that moves the "email" or "password"
  // step on, and arms the click guard for a button of exactly that name.
  // A disabled button answers {disabled: true}.
  function loginSubmit(which) {
    const f = loginField(which);
    if (f.error) return f;
    const b = signInButton(f.el);
    if (b.error) return b;
    if (isDisabled(b.el)) return { disabled: true, name: accName(b.el) };
    const p = centre(b.el, "sign-in button");
    if (p.error) return p;
    armGuard({ via: "page", pattern: "^" + reEscape(accName(b.el)) + "$", control: "sign-in button \"" + accName(b.el) + "\"" });
    return p;
  }

  // loginErrors returns the messages a login page shows in alerts and
  // live regions, leaving out those that say a sign-in is under way.
  function loginErrors() {
    return Array.from(document.querySelectorAll("[role=alert],[aria-live=assertive],[aria-live=polite]"))
      .filter(isVisible).map((a) => norm(a.textContent)).filter((t) => t && !SIGNING_IN_RE.test(t));
  }

  window.__clayAgent = {
    version: VERSION,
    pageInfo: pageInfo,
    waitReady: async (t) => { const r = await waitReady(t); return { info: r.info, timeout: !!r.timeout, members: r.snap ? r.snap.members.length : 0 }; },
    collect: collect,
    locate: locate,
    rendered: rendered,
    statedCounts: () => { const c = statedCounts(); return { members: c.members, invitations: c.invitations, from: c.from, to: c.to, of: c.of, texts: c.texts }; },
    pointControl: pointControl,
    guardResult: guardResult,
    selectRole: selectRole,
    popupItem: popupItem,
    popupOpen: popupOpen,
    closePopup: closePopup,
    inertPoint: inertPoint,
    dialogState: dialogState,
    dialogButton: dialogButton,
    cancelDialog: cancelDialog,
    toasts: toasts,
    inviteButton: inviteButton,
    focusInviteEmail: focusInviteEmail,
    inviteEmailValue: inviteEmailValue,
    inviteRoleControl: inviteRoleControl,
    inviteSelectRole: inviteSelectRole,
    loginStep: loginStep,
    focusLoginField: focusLoginField,
    loginEmailValue: loginEmailValue,
    loginSubmit: loginSubmit,
    loginErrors: loginErrors,
    probeRow: probeRow,
    probeItem: probeItem,
    probeInvite: probeInvite,
  };
})();
