// Sudo mode's time left in the header (templates/partials/elevation_status.html), ticking down
// live. The server's gate stays the authority: this only shows its numbers, re-anchored whenever
// session-timeout.js hears from the server (its "session:deadlines" event).
//
// When the time runs out, everything on the page that says sudo mode is on changes at once: the
// header says it ended (announced once, politely), the Drop button goes, staff get the Elevate
// link back, and a "Sudo mode is on." message becomes "Sudo mode has ended."
const status = document.querySelector("[data-elevation-status]");
const announce = document.querySelector("[data-elevation-announce]");
let timer = null;

function ended() {
  clearInterval(timer);
  status.textContent = "Sudo mode ended";
  status.classList.add("elevation-ended");
  for (const form of document.querySelectorAll("[data-elevation-drop]")) form.hidden = true;
  for (const link of document.querySelectorAll("[data-elevate-link]")) link.hidden = false;
  for (const message of document.querySelectorAll("[data-sudo-message]")) {
    message.textContent = "Sudo mode has ended. Confirm your password to turn it on again.";
    message.classList.add("message-info");
  }
  for (const pill of document.querySelectorAll("[data-elevated-pill]")) pill.hidden = true;
  for (const fact of document.querySelectorAll("[data-elevated-fact]")) {
    fact.textContent = "Not elevated";
    fact.classList.remove("status-on");
  }
  if (announce) announce.textContent = "Sudo mode has ended.";
}

function start(secondsLeft) {
  const end = Date.now() + secondsLeft * 1000;
  clearInterval(timer);
  const render = () => {
    const left = Math.ceil((end - Date.now()) / 1000);
    if (left <= 0) {
      ended();
      return;
    }
    const s = left % 60;
    status.textContent = `Elevated \u00b7 ${Math.floor(left / 60)}:${s < 10 ? "0" : ""}${s} left`;
  };
  render();
  timer = setInterval(render, 1000);
}

if (status) {
  start(Number(status.dataset.elevatedSecondsLeft) || 0);
  document.addEventListener("session:deadlines", ({ detail }) => {
    if (typeof detail.elevated_seconds_left === "number") start(detail.elevated_seconds_left);
  });
}
