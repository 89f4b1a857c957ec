// A hand-written Playwright script that does the job of `agent list` on the
// fixture's virtualized ("grid") Team page: launch Chromium, set the
// claysession cookie, open the Team page, scroll the virtualized list from
// top to bottom collecting each row's name, email and role, read the
// pending invitations, print the count and the elapsed time.
//
// It knows this page's markup (a row is the grandparent of its role
// button, the email is the row's second cell), as a script written for one
// page would; the agent finds the same rows from the contract's hooks
// only.
//
//   node list.mjs --base-url http://127.0.0.1:8089 --session session.json \
//     [--workspace 1234] [--chrome /usr/lib/chromium/chromium] [--want 2000] [--scroll frame|event]
//
// --scroll frame (default) waits for the page to re-render after each
// scroll, the way a browser delivers scroll events (once per frame);
// --scroll event dispatches the scroll event itself and reads at once,
// which is what the agent's page script does.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const t0 = performance.now();
const { values: opt } = parseArgs({
  options: {
    "base-url": { type: "string", default: "http://127.0.0.1:8089" },
    workspace: { type: "string", default: "1234" },
    session: { type: "string", default: "session.json" },
    chrome: { type: "string", default: process.env.CHROME_PATH || "/usr/lib/chromium/chromium" },
    want: { type: "string", default: "0" },
    scroll: { type: "string", default: "frame" },
  },
});
if (opt.scroll !== "frame" && opt.scroll !== "event") {
  console.error(`--scroll must be frame or event, got ${opt.scroll}`);
  process.exit(2);
}

const state = JSON.parse(readFileSync(opt.session, "utf8"));
const cookie = state.cookies.find((c) => c.name === "claysession");
if (!cookie) {
  console.error(`no claysession cookie in ${opt.session}`);
  process.exit(2);
}
const base = new URL(opt["base-url"]);
const teamURL = new URL(`/workspaces/${encodeURIComponent(opt.workspace)}/settings/team`, base).href;

const browser = await chromium.launch({ executablePath: opt.chrome, headless: true });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.addCookies([{
    name: cookie.name,
    value: cookie.value,
    domain: cookie.domain || base.hostname,
    path: cookie.path || "/",
    httpOnly: !!cookie.httpOnly,
    secure: !!cookie.secure,
    sameSite: ["Strict", "Lax", "None"].includes(cookie.sameSite) ? cookie.sameSite : "Lax",
    ...(cookie.expires > 0 ? { expires: cookie.expires } : {}),
  }]);
  const page = await context.newPage();
  await page.goto(teamURL);
  if (new URL(page.url()).pathname.startsWith("/login")) {
    console.error("the session is not valid: the Team page redirected to the login page");
    process.exit(3);
  }
  // the first member row: its role dropdown
  await page.waitForSelector('button[aria-haspopup="listbox"]');

  const members = new Map();
  for (let step = 0; ; step++) {
    const { rows, done } = await page.evaluate(async (mode) => {
      const read = () => Array.from(document.querySelectorAll('button[aria-haspopup="listbox"]'), (btn) => {
        const row = btn.parentElement.parentElement;
        const who = row.children[0].children[1];
        return {
          name: who.children[0].textContent,
          you: who.children.length > 1,
          email: row.children[1].textContent,
          role: btn.textContent.trim(),
        };
      });
      const first = document.querySelector('button[aria-haspopup="listbox"]');
      const scroller = first.parentElement.parentElement.parentElement.parentElement;
      const rows = read();
      if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 1) return { rows, done: true };
      const before = rows[0] && rows[0].email;
      scroller.scrollTop += scroller.clientHeight;
      if (mode === "event") {
        scroller.dispatchEvent(new Event("scroll"));
      } else {
        // wait for the re-render the scroll event causes
        for (let i = 0; i < 20; i++) {
          await new Promise((r) => requestAnimationFrame(r));
          const now = document.querySelector('button[aria-haspopup="listbox"]');
          if (now && read()[0].email !== before) break;
        }
      }
      return { rows, done: false };
    }, opt.scroll);
    for (const r of rows) members.set(r.email, r);
    if (done) break;
    if (step > 100000) throw new Error("the list never ended");
  }

  const invitations = await page.evaluate(() => {
    const h = Array.from(document.querySelectorAll("h2")).find((x) => x.textContent.trim() === "Pending invitations");
    if (!h) return [];
    return Array.from(h.nextElementSibling.children)
      .filter((row) => row.children.length >= 2 && row.children[0].textContent.includes("@"))
      .map((row) => ({ email: row.children[0].textContent, role: row.children[1].textContent }));
  });

  const elapsed = Math.round(performance.now() - t0);
  process.stdout.write(JSON.stringify({ members: [...members.values()], invitations }) + "\n");
  console.error(`playwright (${opt.scroll}): ${members.size} members, ${invitations.length} invitations in ${elapsed} ms`);
  const want = Number(opt.want);
  if (want > 0 && members.size !== want) {
    console.error(`listed ${members.size} members, want ${want}`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
}
