// The browser side of the session timeouts. The server is the authority: this script only warns
// before its deadlines, reports real user activity (never the mere fact that a page is open), and
// re-reads the server's status whenever the page may be out of date (tab shown again, machine woke
// from sleep, page restored from the back/forward cache, a deadline reached).
//
// Everything comes from data- attributes on <body> (templates/base.html). Deadlines there are
// epoch seconds on the server's clock; they are moved onto this browser's clock with the offset
// measured at load (data-server-now) and again at each answer from the server, so a wrong client
// clock does not shift the warning.
//
// Tabs share activity, "Stay signed in" and sign-out over a BroadcastChannel (or, where there is
// none, localStorage's storage event): activity in one tab keeps the others from warning, and
// signing out in one sends every tab to the sign-in page.
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.hasAttribute("data-session-timeout")) return;

  function attr(name) { return body.getAttribute("data-" + name); }
  function seconds(name) { return parseFloat(attr(name)); }

  var cfg = {
    warningMs: seconds("idle-warning") * 1000,
    resolutionMs: Math.max(1, seconds("activity-resolution")) * 1000,
    statusUrl: attr("status-url"),
    keepaliveUrl: attr("keepalive-url"),
    loginUrl: attr("login-url")
  };
  // server clock = client clock + offset (milliseconds)
  var offsetMs = seconds("server-now") * 1000 - Date.now();
  function toClient(serverSeconds) { return serverSeconds * 1000 - offsetMs; }

  var SLEEP_SLACK_MS = 3000;   // a timer this late means the machine slept or the tab was frozen
  var CHANNEL = "session-timeout";

  var state = {
    idleDeadline: toClient(seconds("idle-deadline")),
    absoluteDeadline: toClient(seconds("absolute-deadline")),
    lastKeepalive: Date.now(),   // the page load itself was activity on the server
    pendingActivity: false,
    timer: null,
    expectedAt: 0,
    dialogKind: null,            // null, "idle" or "absolute"
    absoluteDismissed: false,
    checking: false,
    staying: false,
    leaving: false,
    returnFocus: null
  };

  var dialog = document.getElementById("session-timeout-dialog");
  var dialogTitle = document.getElementById("session-timeout-title");
  var dialogText = document.getElementById("session-timeout-text");
  var countdown = document.getElementById("session-timeout-countdown");
  var stayButton = dialog && dialog.querySelector("[data-timeout-stay]");
  var signOutButton = dialog && dialog.querySelector("[data-timeout-signout]");
  var dismissButton = dialog && dialog.querySelector("[data-timeout-dismiss]");

  // --- talking to the server -------------------------------------------------------------------
  function csrfToken() {
    var input = document.querySelector("[data-logout-form] input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Resolves to {ended: true, data} when the server says the session is gone, {ended: false, data}
  // when it is live, and null when the server could not be asked (network, 503): never sign a
  // user out on a mere network error.
  function ask(method, url) {
    var headers = { "Accept": "application/json" };
    if (method === "POST") headers["X-CSRFToken"] = csrfToken();
    return fetch(url, {
      method: method, headers: headers, credentials: "same-origin", cache: "no-store",
      redirect: "manual"
    }).then(function (response) {
      if (response.status === 401) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ended: true, data: data };
        });
      }
      if (!response.ok) return null;
      return response.json().then(function (data) {
        return data && data.authenticated ? { ended: false, data: data } : { ended: true, data: data };
      });
    }).catch(function () { return null; });
  }

  // Every answer from the server re-anchors the clocks, so a changed client clock, a sleep or a
  // frozen tab cannot leave the page counting down against stale numbers.
  function applyDeadlines(data) {
    if (!data || typeof data.idle_deadline !== "number") return;
    if (typeof data.server_now === "number") offsetMs = data.server_now * 1000 - Date.now();
    state.idleDeadline = toClient(data.idle_deadline);
    state.absoluteDeadline = toClient(data.absolute_deadline);
    body.setAttribute("data-idle-deadline", String(Math.floor(data.idle_deadline)));
    body.setAttribute("data-absolute-deadline", String(Math.floor(data.absolute_deadline)));
    if (typeof data.elevated_seconds_left === "number") startElevationClock(data.elevated_seconds_left);
  }

  // Sudo mode's time left in the header ticks down live; the server's gate stays the authority.
  var elevationStatus = document.querySelector("[data-elevation-status]");
  var elevationTimer = null;
  function startElevationClock(secondsLeft) {
    if (!elevationStatus) return;
    var end = Date.now() + secondsLeft * 1000;
    clearInterval(elevationTimer);
    function render() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(elevationTimer);
        elevationStatus.textContent = "Sudo mode ended";
        return;
      }
      var m = Math.floor(left / 60), sec = left % 60;
      elevationStatus.textContent = "Elevated \u00b7 " + m + ":" + (sec < 10 ? "0" : "") + sec + " left";
    }
    render();
    elevationTimer = setInterval(render, 1000);
  }
  if (elevationStatus) {
    startElevationClock(parseFloat(elevationStatus.getAttribute("data-elevated-seconds-left")) || 0);
  }

  // Re-read the status (which never extends the session) and act on it. Callers that arrive
  // while a check is on its way (pageshow and visibilitychange fire together) share it.
  var statusInFlight = null;
  function checkStatus() {
    if (statusInFlight) return statusInFlight;
    statusInFlight = ask("GET", cfg.statusUrl).then(function (result) {
      statusInFlight = null;
      if (!result) return null;
      if (result.ended) { leave(true); return result; }
      applyDeadlines(result.data);
      schedule(0);
      return result;
    });
    return statusInFlight;
  }

  function keepalive() {
    state.lastKeepalive = Date.now();
    state.pendingActivity = false;
    return ask("POST", cfg.keepaliveUrl).then(function (result) {
      // A failed keepalive extended nothing: re-read the truth, but report the failure.
      if (!result) return checkStatus().then(function () { return null; });
      if (result.ended) { leave(true); return result; }
      applyDeadlines(result.data);
      broadcast({ type: "extended", data: result.data });
      schedule(0);
      return result;
    });
  }

  // Go to the sign-in page; the server tells it why the session ended (it keeps the reason in the
  // new anonymous session that answered 401). replace(): the private page leaves the history.
  function leave(tellOthers) {
    if (state.leaving) return;
    state.leaving = true;
    clearTimeout(state.timer);
    if (tellOthers) broadcast({ type: "ended" });
    var next = window.location.pathname + window.location.search;
    window.location.replace(cfg.loginUrl + "?next=" + encodeURIComponent(next));
  }

  // Another tab signed out: its logout POST may still be on its way, so ask again, for a while.
  function followSignOut() {
    var started = Date.now();
    (function again() {
      if (state.leaving) return;
      ask("GET", cfg.statusUrl).then(function (result) {
        if (result && result.ended) { leave(false); return; }
        if (Date.now() - started < 30000) setTimeout(again, 300);
      });
    })();
  }

  // --- user activity ---------------------------------------------------------------------------
  function onActivity() {
    if (state.leaving || state.dialogKind) return;   // in the warning only the buttons count
    var since = Date.now() - state.lastKeepalive;
    if (since >= cfg.resolutionMs) {
      keepalive();
    } else if (!state.pendingActivity) {
      // Activity inside the window is reported once the window ends, so none is lost.
      state.pendingActivity = true;
      setTimeout(function () {
        if (state.pendingActivity && !state.dialogKind && !state.leaving) keepalive();
      }, cfg.resolutionMs - since);
    }
  }
  ["keydown", "pointerdown"].forEach(function (type) {
    document.addEventListener(type, onActivity, { capture: true, passive: true });
  });
  document.addEventListener("scroll", onActivity, { capture: true, passive: true });
  window.addEventListener("focus", onActivity);

  // --- the countdown ---------------------------------------------------------------------------
  function schedule(delay) {
    clearTimeout(state.timer);
    state.expectedAt = Date.now() + delay;
    state.timer = setTimeout(tick, delay);
  }

  function tick() {
    if (state.leaving) return;
    var now = Date.now();
    if (now - state.expectedAt > SLEEP_SLACK_MS) {
      // Timers were suspended (sleep, frozen tab): the page's idea of the session is stale.
      state.expectedAt = now;
      checkStatus();
    }
    var idleLeft = state.idleDeadline - now;
    var absoluteLeft = state.absoluteDeadline - now;
    var kind = absoluteLeft <= idleLeft ? "absolute" : "idle";
    var left = Math.min(idleLeft, absoluteLeft);

    if (left <= 0) { reachedDeadline(); return; }
    if (left <= cfg.warningMs) {
      if (kind === "absolute" && state.absoluteDismissed) {
        schedule(Math.min(left, 30000));  // seen and dismissed: just wait for the end
        return;
      }
      showDialog(kind, left);
      schedule(left % 1000 || 1000);    // tick on each whole second of the countdown
      return;
    }
    if (state.dialogKind) hideDialog();
    // Sleep until the warning is due, waking at least every 30 s to notice a suspended timer.
    schedule(Math.min(Math.max(left - cfg.warningMs, 50), 30000));
  }

  // The deadline as this page sees it: ask the server before acting. It ends an expired session
  // itself (and records why); if it still sees time left (clock skew, another tab's activity),
  // follow its numbers.
  function reachedDeadline() {
    if (state.checking) return;
    state.checking = true;
    ask("GET", cfg.statusUrl).then(function (result) {
      state.checking = false;
      if (result && result.ended) { leave(true); return; }
      if (result) {
        applyDeadlines(result.data);
        schedule(1000);
        return;
      }
      schedule(2000);    // server unreachable: try again shortly, keep the warning up
    });
  }

  function formatLeft(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var m = Math.floor(total / 60), s = total % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function showDialog(kind, left) {
    if (!dialog) return;
    countdown.textContent = formatLeft(left);
    if (state.dialogKind === kind) return;
    state.dialogKind = kind;
    var idle = kind === "idle";
    dialog.classList.toggle("timeout-absolute", !idle);
    dialogTitle.textContent = idle ? "Are you still there?" : "Your session is ending";
    dialogText.textContent = idle ?
      "For your security, you will be signed out after a period of inactivity." :
      "Sessions have a maximum length and this one cannot be extended. Save your work: you will need to sign in again.";
    stayButton.hidden = !idle;
    dismissButton.hidden = idle;
    if (!dialog.open) {
      state.returnFocus = document.activeElement;
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    }
    (idle ? stayButton : dismissButton).focus();
  }

  function hideDialog() {
    state.dialogKind = null;
    if (dialog && dialog.open) {
      if (typeof dialog.close === "function") dialog.close();
      else dialog.removeAttribute("open");
    }
    var back = state.returnFocus;
    state.returnFocus = null;
    if (back && typeof back.focus === "function" && document.contains(back)) back.focus();
  }

  function stay() {
    if (state.dialogKind !== "idle") { dismiss(); return; }
    if (state.staying) return;
    state.staying = true;
    keepalive().then(function (result) {
      state.staying = false;
      if (result && !result.ended) hideDialog();
    });
  }

  function dismiss() {
    if (state.dialogKind === "absolute") state.absoluteDismissed = true;
    hideDialog();
    schedule(0);
  }

  function signOutNow() {
    var form = document.querySelector("[data-logout-form]");
    if (!form) { leave(true); return; }
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else { broadcast({ type: "signout" }); form.submit(); }
  }

  if (dialog) {
    stayButton.addEventListener("click", stay);
    dismissButton.addEventListener("click", dismiss);
    signOutButton.addEventListener("click", signOutNow);
    // Escape means "stay" (or, near the absolute deadline, "dismiss"); never a silent sign-out.
    dialog.addEventListener("cancel", function (event) { event.preventDefault(); stay(); });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); stay(); return; }
      if (event.key !== "Tab") return;
      // Keep keyboard focus on the dialog's buttons, whatever the browser does at the ends.
      var buttons = Array.prototype.filter.call(dialog.querySelectorAll("button"),
        function (b) { return !b.hidden && !b.disabled; });
      if (!buttons.length) return;
      var i = buttons.indexOf(document.activeElement);
      var next = event.shiftKey ? (i <= 0 ? buttons.length - 1 : i - 1) :
        (i === -1 || i === buttons.length - 1 ? 0 : i + 1);
      event.preventDefault();
      buttons[next].focus();
    });
  }

  // Every sign-out form on the page tells the other tabs.
  Array.prototype.forEach.call(document.querySelectorAll("[data-logout-form]"), function (form) {
    form.addEventListener("submit", function () {
      state.leaving = true;
      clearTimeout(state.timer);
      broadcast({ type: "signout" });
    });
  });

  // --- other tabs ------------------------------------------------------------------------------
  var channel = null;
  var STORAGE_KEY = "session-timeout-message";
  function receive(message) {
    if (!message || state.leaving) return;
    if (message.type === "extended") {
      // Another tab reported activity (or loaded a page): the session lives on. A late message
      // never moves the deadline back.
      var before = state.idleDeadline;
      state.lastKeepalive = Date.now();
      state.pendingActivity = false;
      applyDeadlines(message.data);
      state.idleDeadline = Math.max(state.idleDeadline, before);
      if (state.dialogKind === "idle") hideDialog();
      schedule(0);
    } else if (message.type === "signout") {
      followSignOut();
    } else if (message.type === "ended") {
      checkStatus();
    }
  }
  function broadcast(message) {
    try {
      if (channel) { channel.postMessage(message); return; }
      message.nonce = Date.now() + Math.random();
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(message));
    } catch (e) { /* storage unavailable: each tab still follows the server on its own */ }
  }
  if (typeof window.BroadcastChannel === "function") {
    channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = function (event) { receive(event.data); };
  } else {
    window.addEventListener("storage", function (event) {
      if (event.key !== STORAGE_KEY || !event.newValue) return;
      try { receive(JSON.parse(event.newValue)); } catch (e) { /* ignore foreign data */ }
    });
  }

  // --- pages shown again -----------------------------------------------------------------------
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") checkStatus();
  });
  // A page restored from the back/forward cache was frozen with whatever it showed: hide it before
  // it is frozen, and show it again only once the server says the session is still live.
  window.addEventListener("pagehide", function (event) {
    if (event.persisted) document.documentElement.classList.add("session-checking");
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.documentElement.classList.add("session-checking");
    state.leaving = false;
    checkStatus().then(function (result) {
      if (result && !result.ended) document.documentElement.classList.remove("session-checking");
      else if (!result) window.location.reload();
    });
  });

  // Loading this page was activity on the server: tell the other tabs their deadline moved.
  broadcast({ type: "extended", data: {
    idle_deadline: seconds("idle-deadline"), absolute_deadline: seconds("absolute-deadline"),
    server_now: seconds("server-now") } });
  schedule(0);
})();
