// Sudo mode's time left in the header (templates/partials/elevation_status.html), ticking down
// live. The server's gate stays the authority: this only shows its numbers, re-anchored whenever
// session-timeout.js hears from the server (its "session:deadlines" event).
const status = document.querySelector("[data-elevation-status]");
let timer = null;

function start(secondsLeft) {
  const end = Date.now() + secondsLeft * 1000;
  clearInterval(timer);
  const render = () => {
    const left = Math.ceil((end - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timer);
      status.textContent = "Sudo mode ended";
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
