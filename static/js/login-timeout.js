// OWASP's initial login timeout: an untouched sign-in page reloads itself after LOGIN_TIMEOUT
// seconds, so a long-abandoned page never submits a stale pre-login session.
(function () {
  "use strict";
  var form = document.querySelector("[data-login-form]");
  if (!form) return;
  var seconds = parseInt(form.getAttribute("data-login-timeout"), 10);
  if (!(seconds > 0)) return;
  var timer = null;
  function arm() {
    if (timer) clearTimeout(timer);
    // replace(), not reload(): after a failed POST, reload() would send the password again.
    timer = setTimeout(function () {
      window.location.replace(window.location.pathname + window.location.search);
    }, seconds * 1000);
  }
  form.addEventListener("input", arm);
  arm();
})();
