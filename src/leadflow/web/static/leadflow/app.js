/* LeadFlow app shell: small progressive enhancements. Every page works without them. */
(function () {
  "use strict";

  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll('input[type="checkbox"][form="bulk-form"]'));
  }

  function updateSelectedCount() {
    var label = document.querySelector("[data-selected-count]");
    if (!label) return;
    var count = rowBoxes().filter(function (box) { return box.checked; }).length;
    label.textContent = count ? "With " + count + " selected:" : "With selected:";
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("[data-select-all], input[form='bulk-form']")) updateSelectedCount();
  });

  // Forms that destroy something ask first (the server still checks the permission).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  // Menus built on <details>: close on Escape and on a click elsewhere.
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details.menu"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details.menu[open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
    }
  });

  // After htmx swaps content, move focus to the first invalid input so errors are heard.
  document.addEventListener("htmx:afterSettle", function () {
    var invalid = document.querySelector('#main [aria-invalid="true"]');
    if (invalid) invalid.focus();
    updateSelectedCount();
  });
})();
