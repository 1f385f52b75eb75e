// The browser side of the session timeouts, as one small state machine. The server is the
// authority: this script warns before its deadlines, reports real user activity (never the mere
// fact that a page is open), and asks the server again whenever the page may be out of date.
//
//   active    The session is live. One timer waits for the warning, waking at least every 30 s;
//             a timer that fires late means the machine slept: go to "checking".
//   warning   The dialog counts down to the idle deadline ("Stay signed in") or to the absolute
//             one ("Continue for now": it cannot be extended).
//   checking  The page's view may be stale: a deadline reached, a late timer, the tab shown again
//             or restored from the back/forward cache, another tab signed out. The countdown
//             waits for the server's answer; a failed answer is retried, never taken as a sign-out.
//   leaving   The page is going away: the user's click or form submit, or this script's redirect
//             to sign in. Nothing more is scheduled and the script never redirects on its own,
//             so the user gets the page they asked for (the server sends it to sign in, with the
//             reason and that page as `next`).
//
// Every exchange with the server is one refresh(): GET /sessions/status/ (never extends) or POST
// /sessions/keepalive/ (activity), aborted after FETCH_TIMEOUT_MS so one hung request never stops
// the page from asking again. Deadlines arrive as epoch seconds on the server's clock and are moved
// onto this browser's clock with the offset measured at each answer (a wrong client clock does
// not shift the warning). Tabs share activity and sign-out over a BroadcastChannel.
// Settings come from data- attributes on <body> (templates/base.html). Sudo mode's countdown in
// the header is sudo-countdown.js; it hears of new numbers through a "session:deadlines" event.

const FETCH_TIMEOUT_MS = 8000;   // a status or keepalive request taking longer is abandoned
const RETRY_MS = 2000;           // a failed check (network, 503, timeout) is asked again after this
const SLEEP_SLACK_MS = 3000;     // a timer this late means the machine slept or the tab was frozen
const MAX_SLEEP_MS = 30000;      // the timer wakes at least this often
const LEAVE_GRACE_MS = 10000;    // a click that navigated nowhere (a download, a 204, Stop)
const FOLLOW_SIGNOUT_MS = 30000; // another tab signed out: its POST may still be on its way...
const FOLLOW_EVERY_MS = 300;     // ...so ask this often, for that long

const settings = document.body.dataset;
const warningMs = Number(settings.idleWarning) * 1000;
const resolutionMs = Math.max(1, Number(settings.activityResolution)) * 1000;

let phase = "active";
let timer = null;                  // the one timer: the countdown, or the grace while leaving
let checkRequest = null;           // the answer "checking" waits for
let lastCheck = { at: -Infinity, failed: false };
let followSignOutUntil = 0;
let absoluteDismissed = false;     // "Continue for now": the absolute warning is not shown again

let known = null;                  // the server's newest numbers (epoch seconds, its clock)
let offsetMs = 0;                  // the server's clock minus this browser's, in ms

let lastReport = Date.now();       // the page load itself was activity on the server
let reportDue = null;              // activity inside the resolution window, reported when it ends
let reporting = null;              // the keepalive on its way

function setPhase(next) {
  phase = next;
  document.body.dataset.sessionPhase = next;
}

// --- the server -------------------------------------------------------------------------------

// Resolves to "live" (and the deadlines are taken over), "ended", or "failed" (network, 5xx,
// timeout): a failure never signs anyone out.
async function refresh({ extend = false } = {}) {
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  const headers = { Accept: "application/json" };
  if (extend) {
    const token = document.querySelector("[data-logout-form] [name=csrfmiddlewaretoken]");
    headers["X-CSRFToken"] = token?.value ?? "";
  }
  try {
    const response = await fetch(extend ? settings.keepaliveUrl : settings.statusUrl, {
      method: extend ? "POST" : "GET", headers, cache: "no-store", redirect: "manual",
      signal: controller.signal,
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 || (response.ok && !data.authenticated)) return "ended";
    if (!response.ok) return "failed";
    learn(data);
    return "live";
  } catch {
    return "failed";
  } finally {
    clearTimeout(timeout);
  }
}

// Take over the server's numbers, unless newer ones are known already (answers and other tabs'
// messages can arrive out of order: a late one never moves a deadline back).
function learn(data) {
  if (known && data.server_now < known.server_now) return;
  known = data;
  offsetMs = data.server_now * 1000 - Date.now();
  document.dispatchEvent(new CustomEvent("session:deadlines", { detail: data }));
}

// A deadline on this browser's clock, in ms.
function deadline(name) {
  return known[name] * 1000 - offsetMs;
}

// --- the phases ---------------------------------------------------------------------------------

// The one timer: decide the phase from the deadlines, then sleep until the next thing to do.
function tick() {
  if (phase === "leaving" || phase === "checking") return;
  const now = Date.now();
  const idle = deadline("idle_deadline");
  const absolute = deadline("absolute_deadline");
  const left = Math.min(idle, absolute) - now;
  const kind = absolute <= idle ? "absolute" : "idle";
  // Ask the server unprompted: past the deadline, after a failed check, while another tab's
  // sign-out is on its way.
  let checkAt = Infinity;
  if (left <= 0 || lastCheck.failed) checkAt = lastCheck.at + RETRY_MS;
  else if (now < followSignOutUntil) checkAt = lastCheck.at + FOLLOW_EVERY_MS;
  if (now >= checkAt) {
    check();
    return;
  }

  let wake;
  if (left <= warningMs && !(kind === "absolute" && absoluteDismissed)) {
    setPhase("warning");
    dialog.show(kind, left);
    wake = left > 0 ? left % 1000 || 1000 : Infinity;   // on each whole second of the countdown
  } else {
    setPhase("active");
    dialog.hide();
    wake = left > warningMs ? left - warningMs : left;
  }
  schedule(Math.min(Math.max(wake, 50), MAX_SLEEP_MS, checkAt - now));
}

function schedule(delay) {
  clearTimeout(timer);
  const dueAt = Date.now() + delay;
  timer = setTimeout(() => (Date.now() - dueAt > SLEEP_SLACK_MS ? check() : tick()), delay);
}

// Ask the server before acting. The dialog, if shown, stays as it is until the answer.
function check() {
  if (phase === "leaving") return Promise.resolve("leaving");
  if (phase === "checking") return checkRequest;
  setPhase("checking");
  clearTimeout(timer);
  checkRequest = refresh().then((result) => {
    lastCheck = { at: Date.now(), failed: result === "failed" };
    if (phase !== "checking") return result;   // the user left meanwhile
    if (result === "ended") {
      leave();
    } else {
      setPhase("active");
      tick();
    }
    return result;
  });
  return checkRequest;
}

// The session is over: tell the other tabs, and go to sign in unless the page is already going
// somewhere. replace(): the private page leaves the history. The sign-in page shows the reason.
function leave() {
  channel.postMessage({ type: "ended" });
  if (phase === "leaving") return;
  setPhase("leaving");
  clearTimeout(timer);
  const next = location.pathname + location.search;
  location.replace(`${settings.loginUrl}?next=${encodeURIComponent(next)}`);
}

// The user started a navigation: it meets the server itself, so the script steps aside. If the
// page is still here after a while, the navigation went nowhere: look again.
function userLeaves() {
  if (phase === "leaving") return;
  setPhase("leaving");
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (phase !== "leaving") return;
    setPhase("active");
    check();
  }, LEAVE_GRACE_MS);
}

// --- activity -----------------------------------------------------------------------------------

// Report activity (a keepalive); the answer moves the deadlines, here and in the other tabs.
function report() {
  if (reporting) return reporting;
  lastReport = Date.now();
  clearTimeout(reportDue);
  reportDue = null;
  reporting = refresh({ extend: true }).then((result) => {
    reporting = null;
    if (result === "ended") leave();
    if (result === "live") {
      channel.postMessage({ type: "extended", data: known });
      tick();
    }
    return result;
  });
  return reporting;
}

// At most once per resolution window; activity inside the window is reported when it ends.
// In the warning only the dialog's buttons count.
function onActivity() {
  if (phase === "leaving" || dialog.isOpen() || reportDue) return;
  const since = Date.now() - lastReport;
  if (since >= resolutionMs) {
    report();
    return;
  }
  reportDue = setTimeout(() => {
    reportDue = null;
    // A keepalive still on its way was sent before this activity: wait for it, then report,
    // or the activity would be lost (report() returns the one in flight without sending).
    Promise.resolve(reporting).then(() => {
      if (phase !== "leaving" && !dialog.isOpen()) report();
    });
  }, resolutionMs - since);
}

// --- the dialog ---------------------------------------------------------------------------------

const dialog = (() => {
  const el = document.getElementById("session-timeout-dialog");
  const title = document.getElementById("session-timeout-title");
  const text = document.getElementById("session-timeout-text");
  const countdown = document.getElementById("session-timeout-countdown");
  const stayButton = el.querySelector("[data-timeout-stay]");
  const dismissButton = el.querySelector("[data-timeout-dismiss]");
  const TEXT = {
    idle: ["Are you still there?",
      "For your security, you will be signed out after a period of inactivity."],
    absolute: ["Your session is ending",
      "Sessions have a maximum length and this one cannot be extended. Save your work: you will need to sign in again."],
  };
  let kind = null;                 // "idle" or "absolute" while shown
  let returnFocus = null;

  function show(newKind, left) {
    const total = Math.max(0, Math.ceil(left / 1000));
    countdown.textContent = `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
    if (kind === newKind) return;
    kind = newKind;
    el.classList.toggle("timeout-absolute", kind === "absolute");
    [title.textContent, text.textContent] = TEXT[kind];
    stayButton.hidden = kind !== "idle";
    dismissButton.hidden = kind === "idle";
    if (!el.open) {
      returnFocus = document.activeElement;
      el.showModal();
    }
    (kind === "idle" ? stayButton : dismissButton).focus();
  }

  function hide() {
    if (!kind) return;
    kind = null;
    el.close();
    returnFocus?.focus();
    returnFocus = null;
  }

  // "Stay signed in" closes the dialog only once a keepalive really extended the session (tick).
  function stay() {
    if (kind === "idle") {
      report();
    } else if (kind === "absolute") {
      absoluteDismissed = true;
      hide();
      tick();
    }
  }

  stayButton.addEventListener("click", stay);
  dismissButton.addEventListener("click", stay);
  el.querySelector("[data-timeout-signout]").addEventListener("click", () => {
    const form = document.querySelector("[data-logout-form]");
    if (form) form.requestSubmit();
    else leave();
  });
  // Escape means "stay" (or, near the absolute deadline, "dismiss"); never a silent sign-out.
  el.addEventListener("cancel", (event) => {
    event.preventDefault();
    stay();
  });
  el.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      stay();
    } else if (event.key === "Tab") {
      // Keep keyboard focus on the dialog's buttons, whatever the browser does at the ends.
      event.preventDefault();
      const buttons = [...el.querySelectorAll("button:not([hidden])")];
      const i = buttons.indexOf(document.activeElement) + (event.shiftKey ? -1 : 1);
      buttons.at(i % buttons.length).focus();
    }
  });

  return { show, hide, isOpen: () => kind !== null };
})();

// --- other tabs ---------------------------------------------------------------------------------

const channel = new BroadcastChannel("session-timeout");
channel.onmessage = ({ data: message }) => {
  if (phase === "leaving") return;
  if (message.type === "extended") {
    // Another tab reported activity (or loaded a page): the session lives on.
    lastReport = Date.now();
    clearTimeout(reportDue);
    reportDue = null;
    learn(message.data);
    tick();
  } else {
    if (message.type === "signout") followSignOutUntil = Date.now() + FOLLOW_SIGNOUT_MS;
    check();   // "signout" or "ended"
  }
};

// --- the page's own life ------------------------------------------------------------------------

for (const type of ["keydown", "pointerdown", "scroll"]) {
  document.addEventListener(type, onActivity, { capture: true, passive: true });
}
window.addEventListener("focus", onActivity);

// A navigation the user starts: a link followed in this tab, a form submitted, or anything else
// that unloads the page. (Bubble phase: a handler that cancelled the click has already run.)
document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  if ((link.target && link.target !== "_self") || link.hasAttribute("download")) return;
  const to = new URL(link.href);
  if (to.hash && to.href.split("#")[0] === location.href.split("#")[0]) return;   // within the page
  userLeaves();
});
document.addEventListener("submit", (event) => {
  if (event.defaultPrevented) return;
  if (event.target.matches("[data-logout-form]")) channel.postMessage({ type: "signout" });
  userLeaves();
});
window.addEventListener("beforeunload", userLeaves);

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") check();
});

// A page restored from the back/forward cache was frozen with whatever it showed: hide it before
// it is frozen, and show it again only once the server says the session is still live.
window.addEventListener("pagehide", (event) => {
  if (event.persisted) document.documentElement.classList.add("session-checking");
  userLeaves();
  clearTimeout(timer);   // no grace: a hidden page is gone, or frozen until "pageshow"
});
window.addEventListener("pageshow", async (event) => {
  if (!event.persisted) return;
  document.documentElement.classList.add("session-checking");
  setPhase("active");
  const result = await check();
  if (result === "live") document.documentElement.classList.remove("session-checking");
  else if (result === "failed") location.reload();
});

// Start from the numbers the page was rendered with; loading it was activity on the server, so
// tell the other tabs their deadline moved.
learn({
  server_now: Number(settings.serverNow),
  idle_deadline: Number(settings.idleDeadline),
  absolute_deadline: Number(settings.absoluteDeadline),
});
channel.postMessage({ type: "extended", data: known });
tick();
