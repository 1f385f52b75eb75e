// "What just happened?" notes (templates/partials/what_happened.html, demo mode): the Dismiss
// button appears only with this script, removes its note and puts the focus on the page's main
// content, so a keyboard user is not left on a button that is gone.
for (const button of document.querySelectorAll("[data-what-happened-dismiss]")) {
  button.hidden = false;
  button.addEventListener("click", () => {
    button.closest("[data-what-happened]").remove();
    document.getElementById("main")?.focus();
  });
}
