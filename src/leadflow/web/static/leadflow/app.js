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

  // The note's "Mention a colleague" picker types "@Name " into the note where the caret is.
  document.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.matches("[data-mention-into]") || !picker.value) return;
    var box = document.getElementById(picker.getAttribute("data-mention-into"));
    if (!box) return;
    var at = typeof box.selectionStart === "number" ? box.selectionStart : box.value.length;
    var before = box.value.slice(0, at);
    var text = (before && !/\s$/.test(before) ? " " : "") + picker.value + " ";
    box.value = before + text + box.value.slice(at);
    picker.value = "";
    box.focus();
    box.setSelectionRange(at + text.length, at + text.length);
  });

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

  // Copy buttons: data-copy names the field whose value they copy. They are shown only where
  // this script runs (data-js-only); without it, the field still selects itself on focus.
  document.querySelectorAll("[data-js-only]").forEach(function (node) { node.hidden = false; });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
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

  // Condition editors: offer only the operators the chosen field's type has.
  function conditionOperators(row) {
    var field = row.querySelector("[data-condition-field]");
    var operator = row.querySelector("[data-condition-operator]");
    if (!field || !operator) return;
    var chosen = field.options[field.selectedIndex];
    var type = chosen ? chosen.getAttribute("data-type") : null;
    Array.prototype.forEach.call(operator.options, function (option) {
      var types = (option.getAttribute("data-types") || "").split(" ");
      option.hidden = Boolean(type) && types.indexOf(type) < 0;
    });
    if (operator.selectedOptions[0] && operator.selectedOptions[0].hidden) {
      var first = Array.prototype.find.call(operator.options, function (o) { return !o.hidden; });
      if (first) operator.value = first.value;
    }
  }
  document.querySelectorAll(".condition-row").forEach(conditionOperators);
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-condition-field]")) {
      conditionOperators(event.target.closest(".condition-row"));
    }
  });

  // Condition editors: "Add a condition" copies the last row, emptied and numbered on (the
  // page itself always brings two blank rows; this is for more, without reloading it).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-condition-add]");
    if (!button) return;
    var rows = button.closest("[data-condition-editor]").querySelector(".condition-rows");
    var last = rows.lastElementChild;
    var number = rows.children.length + 1;
    if (!last || number > Number(button.getAttribute("data-condition-add"))) return;
    var row = last.cloneNode(true);
    row.classList.remove("has-error");
    row.querySelectorAll(".error").forEach(function (node) { node.remove(); });
    row.querySelectorAll("label").forEach(function (label) {
      label.htmlFor = label.htmlFor.replace(/\d+$/, number);
      label.textContent = label.textContent.replace(/\d+$/, number);
    });
    row.querySelectorAll("select, input").forEach(function (input) {
      input.id = input.id.replace(/\d+$/, number);
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      if (input.tagName === "SELECT") {
        input.selectedIndex = 0;
      } else {
        input.removeAttribute("value");
        input.value = "";
      }
    });
    rows.appendChild(row);
    conditionOperators(row);
    if (number >= Number(button.getAttribute("data-condition-add"))) button.disabled = true;
    row.querySelector("select").focus();
  });

  // After htmx swaps content, move focus to the first invalid input so errors are heard.
  document.addEventListener("htmx:afterSettle", function () {
    var invalid = document.querySelector('#main [aria-invalid="true"]');
    if (invalid) invalid.focus();
    updateSelectedCount();
  });
})();
