// The session lab (demo mode only; loaded by base.html when /lab/ exists).
//
// 1. On /lab/: poll the lab's state (GET /lab/state/?t=..., sent WITHOUT cookies, so the poll
//    never touches, extends or ends a session) and mark each exercise solved as soon as the
//    server has seen the attack refused. The copy button copies the key panel's value.
// 2. On every signed-in page: the Back-button exercise's beacon. When a page is restored from
//    the back/forward cache, tell the lab (GET /lab/beacon/, no cookies) with the signed note
//    the page was rendered with; the server records it only if that page's session has ended.
//    session-timeout.js does the protecting (re-check, leave); this only reports it.

const POLL_MS = 2000;

function setState(card, entry) {
  if (!entry || card.dataset.state === entry.state) return;
  card.dataset.state = entry.state;
  const status = card.querySelector("[data-lab-status]");
  if (status) {
    const badge = document.createElement("span");
    badge.className = entry.state === "solved" ? "lab-badge lab-badge-solved" : "lab-badge";
    badge.textContent = entry.state === "solved" ? "Solved" : "Open";
    status.replaceChildren(badge);
  }
}

const POLL_TIMEOUT_MS = 5000;

async function poll(root) {
  try {
    // A hung request must not stop the polling: each one gives up after POLL_TIMEOUT_MS.
    const response = await fetch(root.dataset.labStateUrl, {
      credentials: "omit",
      cache: "no-store",
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(POLL_TIMEOUT_MS),
    });
    if (!response.ok) return;
    const data = await response.json();
    let solved = 0;
    for (const card of document.querySelectorAll("[data-exercise]")) {
      const entry = data.exercises[card.dataset.exercise];
      setState(card, entry);
      if (card.dataset.state === "solved") solved += 1;
    }
    const counter = document.querySelector("[data-lab-solved]");
    if (counter && counter.textContent !== String(solved)) counter.textContent = String(solved);
  } catch {
    // offline or the server restarting: try again at the next tick
  }
}

const root = document.querySelector("[data-lab]");
if (root) {
  const tick = () => poll(root).finally(() => setTimeout(tick, POLL_MS));
  setTimeout(tick, POLL_MS);
  const token = root.dataset.labToken;
  if (token && !new URLSearchParams(location.search).get("t")) {
    // Keep the lab's scope in the address: a reload after signing out still finds it.
    const url = new URL(location.href);
    url.searchParams.set("t", token);
    history.replaceState(history.state, "", url);
  }
}

const copy = document.querySelector("[data-lab-copy]");
if (copy) {
  copy.addEventListener("click", async () => {
    const field = document.querySelector("[data-lab-key]");
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Selected: press Ctrl+C";
    }
  });
}

window.addEventListener("pageshow", (event) => {
  const body = document.body;
  if (!event.persisted || !body.dataset.labBeacon || !body.dataset.labBeaconToken) return;
  const url = new URL(body.dataset.labBeacon, location.href);
  url.searchParams.set("token", body.dataset.labBeaconToken);
  url.searchParams.set("path", location.pathname);
  fetch(url, {
    credentials: "omit",
    cache: "no-store",
    keepalive: true,
  }).catch(() => {});
});
