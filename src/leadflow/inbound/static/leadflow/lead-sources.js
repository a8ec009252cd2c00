/* Lead sources page: copy the webhook URL and the secret. Without it, select and copy. */
(function () {
  "use strict";
  document.querySelectorAll("[data-js-only]").forEach(function (node) { node.hidden = false; });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    var label = button.textContent;
    var done = function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
    } else {
      source.select();
      try { document.execCommand("copy"); done(); } catch (error) { /* selected: copy by hand */ }
    }
  });
})();
