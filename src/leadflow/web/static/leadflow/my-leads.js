/* "My leads": keyboard moves (j/k, Enter), action shortcuts (c e f a r d x s), the "?"
   help dialog, and the first-touch countdowns. The page works without it: every lead has
   a button that opens its panel, every action is a form. */
(function () {
  "use strict";

  var ACTION_KEYS = "cefardxs";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#my-leads-list .lead-row"));
  }
  function selected() {
    return document.querySelector("#my-leads-list .lead-row.is-selected");
  }
  var selectedId = null;

  function select(row) {
    rows().forEach(function (other) {
      other.classList.remove("is-selected");
      other.removeAttribute("aria-current");
    });
    if (!row) return;
    row.classList.add("is-selected");
    row.setAttribute("aria-current", "true");
    selectedId = row.getAttribute("data-lead-id");
    var button = row.querySelector(".lead-open");
    if (button) button.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(selected());
    index = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[index]);
  }

  function panelLead() {
    var body = document.querySelector("#lead-panel [data-panel-lead]");
    return body ? body.getAttribute("data-panel-lead") : null;
  }

  // Open the selected lead's panel (unless it is open already), then call ``then``.
  function openPanel(then) {
    var row = selected() || rows()[0];
    if (!row) return;
    if (!selected()) select(row);
    if (panelLead() === row.getAttribute("data-lead-id")) {
      if (then) then();
      return;
    }
    var button = row.querySelector(".lead-open");
    window.htmx.ajax("GET", button.getAttribute("hx-get"), { target: "#lead-panel", swap: "innerHTML" })
      .then(function () { if (then) then(); });
  }

  function openAction(key) {
    openPanel(function () {
      var section = document.querySelector('#lead-panel [data-action-key="' + key + '"]');
      if (!section) {
        var panel = document.getElementById("lead-panel");
        panel.focus();
        return;
      }
      var details = section.matches("details") ? section : section.querySelector("details");
      if (details) details.open = true;
      var field = section.querySelector("select, textarea, input:not([type=hidden]), button[type=submit]");
      (field || section).focus();
      section.scrollIntoView({ block: "nearest" });
    });
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']") !== null;
  }

  document.addEventListener("keydown", function (event) {
    if (!document.querySelector("[data-my-leads]")) return;
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var help = document.getElementById("my-leads-help");
    if (help && help.open) return;
    var key = event.key;
    if (key === "j" || key === "k") {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    } else if (key === "Enter" && event.target.closest(".lead-row")) {
      select(event.target.closest(".lead-row"));  // the button's own click opens the panel
    } else if (key === "?") {
      event.preventDefault();
      if (help) help.showModal();
    } else if (key.length === 1 && ACTION_KEYS.indexOf(key) >= 0) {
      event.preventDefault();
      openAction(key);
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-my-leads-help]")) {
      document.getElementById("my-leads-help").showModal();
      return;
    }
    var row = event.target.closest("#my-leads-list .lead-row");
    if (row && event.target.closest(".lead-open")) select(row);
  });

  // After the list is redrawn (a poll brought a lead, an action refreshed it), keep the
  // selection on the same lead when it is still there.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "my-leads-list" || event.target.id === "my-leads-list") {
      var again = selectedId && document.querySelector('#my-leads-list .lead-row[data-lead-id="' + selectedId + '"]');
      if (again) {
        again.classList.add("is-selected");
        again.setAttribute("aria-current", "true");
      }
      countdowns();
    }
  });

  // First-touch countdowns: "due in 7 min" / "overdue 3 min", from the <time datetime>.
  function span(ms) {
    var minutes = Math.round(Math.abs(ms) / 60000);
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + (minutes % 60) + " min";
    return Math.floor(hours / 24) + " days";
  }
  function countdowns() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (time) {
      var due = Date.parse(time.getAttribute("datetime"));
      if (isNaN(due)) return;
      var left = due - now;
      time.textContent = left >= 0 ? "due in " + span(left) : "overdue " + span(left);
      var clock = time.closest(".lead-clock");
      if (clock) clock.classList.toggle("is-overdue", left < 0);
    });
  }
  countdowns();
  window.setInterval(countdowns, 15000);
})();
