// Estate Agent CRM: behaviour loaded as a file (no inline scripts under the strict CSP).
(function () {
  "use strict";
  // Toasts fade after a few seconds.
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("#toasts .toast:not([data-timer])").forEach(function (el) {
      el.setAttribute("data-timer", "1");
      setTimeout(function () { el.remove(); }, 6000);
    });
  });
  // Confirm destructive actions: any form or button with data-confirm.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { event.preventDefault(); }
  }, true);
  // Copy a read-only field (the calendar feed address): buttons with data-copy="#field".
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.select();
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value); }
    button.textContent = "Copied";
  });
})();
