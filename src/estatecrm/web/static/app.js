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
})();
