/* LeadFlow form builder: edit a form's fields, reorder them (drag and drop, or the
   move up / move down buttons), and see the public form update as you type.

   The server renders every field row; this script keeps the field list as JSON in the
   hidden input "fields" (what the Save button posts) and asks the server for a preview
   of the unsaved list. The server validates; this script only helps. */
(function () {
  "use strict";

  var builder = document.getElementById("form-builder");
  var list = document.getElementById("fb-list");
  var configNode = document.getElementById("fb-config");
  if (!builder || !list || !configNode) return;

  var config = JSON.parse(configNode.textContent);
  var fieldsInput = document.getElementById("fb-fields");
  var preview = document.getElementById("fb-preview");
  var previewStatus = document.getElementById("fb-preview-status");
  var announcer = document.getElementById("fb-announce");
  var dirtyNote = document.getElementById("fb-dirty");
  var template = document.getElementById("fb-row-template");
  var editable = !!template;
  var ALWAYS = ["name", "type", "label"];
  var NUMBERS = { min: "float", max: "float", max_length: "int" };
  var LISTS = { options: true, blocked_domains: true };
  var FLAGS = { required: true, block_disposable: true };
  var STARTERS = {
    text: { name: "text", label: "Short answer" },
    email: { name: "email", label: "Email" },
    phone: { name: "phone", label: "Phone" },
    number: { name: "number", label: "Number" },
    textarea: { name: "message", label: "Message" },
    select: { name: "choice", label: "Choose one", options: "Option 1\nOption 2" },
    radio: { name: "choice", label: "Choose one", options: "Option 1\nOption 2" },
    checkboxes: { name: "choices", label: "Choose any", options: "Option 1\nOption 2" },
    date: { name: "date", label: "Date" },
    hidden: { name: "utm_campaign", label: "Campaign" },
    consent: {
      name: "consent",
      label: "Consent",
      consent_text: "I agree to receive emails about your products and offers. I can unsubscribe at any time."
    }
  };
  var nextUid = 1;
  // A page shown again after a refused save holds edits that are not saved yet.
  var dirty = builder.hasAttribute("data-unsaved");
  if (dirty && dirtyNote) dirtyNote.hidden = false;

  // Everything that needs JavaScript is hidden until it is here.
  fieldsInput.disabled = false;
  document.querySelectorAll("[data-js-only]").forEach(function (node) { node.hidden = false; });

  function rows() { return Array.prototype.slice.call(list.querySelectorAll(":scope > .fb-row")); }
  function input(row, prop) { return row.querySelector('[data-prop="' + prop + '"]'); }
  function rowType(row) { return input(row, "type").value; }
  function shownProps(type) { return ALWAYS.concat(config.props[type] || []); }
  function announce(text) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 30);
  }
  function rowTitle(row) {
    return input(row, "label").value.trim() || input(row, "name").value.trim() || "Untitled field";
  }

  // --- the field list as JSON ------------------------------------------------------------

  function rowData(row) {
    var type = rowType(row);
    var data = {};
    shownProps(type).forEach(function (prop) {
      var node = input(row, prop);
      if (!node) return;
      if (FLAGS[prop]) {
        if (node.checked || prop === "required") data[prop] = node.checked;
        return;
      }
      var text = node.value.trim();
      // An empty "save to" is a choice (only the submission), not a missing setting: the
      // server maps a field without maps_to to its obvious contact field.
      if (prop === "maps_to") {
        data.maps_to = text;
        return;
      }
      if (text === "") return;
      if (NUMBERS[prop]) {
        var number = NUMBERS[prop] === "int" ? parseInt(text, 10) : Number(text);
        if (!isNaN(number)) data[prop] = number;
      } else if (LISTS[prop]) {
        data[prop] = text.split("\n").map(function (line) { return line.trim(); })
          .filter(function (line) { return line; });
      } else {
        data[prop] = text;
      }
    });
    data.type = type;
    return data;
  }

  function serialise() {
    fieldsInput.value = JSON.stringify(rows().map(rowData));
    return fieldsInput.value;
  }

  // --- row header and visible settings ---------------------------------------------------

  function refreshHeader(row) {
    var type = rowType(row);
    row.setAttribute("data-type", type);
    row.querySelector(".fb-title").textContent = rowTitle(row);
    row.querySelector(".fb-type").textContent = config.types[type] || type;
    row.querySelector(".fb-name").textContent = input(row, "name").value.trim();
    var required = input(row, "required");
    row.querySelector(".fb-req").hidden = !(required.checked && shownProps(type).indexOf("required") >= 0);
    var mapsTo = input(row, "maps_to");
    var maps = row.querySelector(".fb-maps");
    var mapped = mapsTo.value && shownProps(type).indexOf("maps_to") >= 0;
    maps.hidden = !mapped;
    if (mapped) {
      row.querySelector(".fb-maps-label").textContent = mapsTo.options[mapsTo.selectedIndex].text;
    }
  }

  function applyType(row) {
    var shown = shownProps(rowType(row));
    row.querySelectorAll("[data-prop-group]").forEach(function (group) {
      group.hidden = shown.indexOf(group.getAttribute("data-prop-group")) < 0;
    });
    var type = rowType(row);
    var options = input(row, "options");
    if (config.option_types.indexOf(type) >= 0 && !options.value.trim()) {
      options.value = STARTERS[type].options;
    }
    refreshHeader(row);
  }

  // --- where an answer is saved: the obvious contact field by default -------------------------

  // A field the person has not pointed anywhere yet (data-maps-auto) follows its type and
  // name: Email and Phone fields, text fields named first_name, company, city, postcode...,
  // and a date field named date_of_birth fill that contact field unless another field does
  // already (capture/fields.py, the same table, decides for the API).
  function obviousTarget(row) {
    var type = rowType(row);
    if (config.obvious_by_type[type]) return config.obvious_by_type[type];
    var target = config.obvious_by_name[input(row, "name").value.trim()] || "";
    return target && type === (config.obvious_kinds[target] || "text") ? target : "";
  }

  function targetTaken(target, except) {
    return rows().some(function (row) {
      return row !== except && input(row, "maps_to").value === target &&
        shownProps(rowType(row)).indexOf("maps_to") >= 0;
    });
  }

  function followObvious(row) {
    if (!row.hasAttribute("data-maps-auto")) return;
    var target = obviousTarget(row);
    input(row, "maps_to").value = target && !targetTaken(target, row) ? target : "";
  }

  function setExpanded(row, open) {
    var toggle = row.querySelector(".fb-toggle");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    row.querySelector(".fb-row-body").hidden = !open;
  }

  // --- changes ----------------------------------------------------------------------------

  function changed() {
    serialise();
    if (!dirty) {
      dirty = true;
      if (dirtyNote) dirtyNote.hidden = false;
    }
    schedulePreview();
  }

  function slug(text) {
    var name = text.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60);
    if (!/^[a-z]/.test(name)) name = name ? "field_" + name : "field";
    return name.slice(0, 60);
  }

  function uniqueName(base, except) {
    var taken = {};
    rows().forEach(function (row) {
      if (row !== except) taken[input(row, "name").value.trim()] = true;
    });
    if (!taken[base]) return base;
    for (var n = 2; ; n++) {
      var candidate = base.slice(0, 56) + "_" + n;
      if (!taken[candidate]) return candidate;
    }
  }

  builder.addEventListener("input", function (event) {
    var row = event.target.closest(".fb-row");
    if (row && list.contains(row)) {
      clearServerError(event.target);
      var prop = event.target.getAttribute("data-prop");
      if (prop === "name") row.removeAttribute("data-name-auto");
      if (prop === "label" && row.hasAttribute("data-name-auto")) {
        input(row, "name").value = uniqueName(slug(event.target.value || "field"), row);
      }
      if (prop === "label" || prop === "name") followObvious(row);
      refreshHeader(row);
    }
    changed();
  });

  builder.addEventListener("change", function (event) {
    var row = event.target.closest(".fb-row");
    if (row && list.contains(row)) {
      clearServerError(event.target);
      var changedProp = event.target.getAttribute("data-prop");
      if (changedProp === "maps_to") row.removeAttribute("data-maps-auto");
      if (changedProp === "type") {
        followObvious(row);
        applyType(row);
      }
      refreshHeader(row);
    }
    changed();
  });

  function clearServerError(node) {
    var group = node.closest(".field");
    if (!group) return;
    group.classList.remove("has-error");
    group.querySelectorAll(".fb-server-error").forEach(function (error) { error.remove(); });
    node.removeAttribute("aria-invalid");
  }

  // --- buttons: open, move, remove, add ------------------------------------------------------

  function move(row, offset) {
    var all = rows();
    var index = all.indexOf(row);
    var target = all[index + offset];
    if (!target) return false;
    if (offset < 0) list.insertBefore(row, target);
    else list.insertBefore(row, target.nextSibling);
    return true;
  }

  function position(row) { return rows().indexOf(row) + 1; }

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var row = button.closest(".fb-row");
    var action = button.getAttribute("data-action");
    if (action === "toggle") {
      setExpanded(row, button.getAttribute("aria-expanded") !== "true");
      return;
    }
    if (action === "up" || action === "down") {
      if (move(row, action === "up" ? -1 : 1)) {
        button.focus();
        announce(rowTitle(row) + " moved to position " + position(row) + " of " + rows().length + ".");
        changed();
      } else {
        announce(rowTitle(row) + " is already " + (action === "up" ? "first." : "last."));
      }
      return;
    }
    if (action === "remove") {
      var title = rowTitle(row);
      var neighbour = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      announce("Removed " + title + ".");
      var focusTarget = neighbour ? neighbour.querySelector(".fb-toggle") : document.getElementById("fb-add-type");
      if (focusTarget) focusTarget.focus();
      changed();
    }
  });

  function addField(type) {
    var uid = "n" + nextUid++;
    var html = template.innerHTML.replace(/__uid__/g, uid);
    var holder = document.createElement("ol");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    // Consent boxes stay last: a new field goes before the consent boxes that end the form.
    var all = rows();
    var firstTrailingConsent = null;
    for (var i = all.length - 1; i >= 0 && rowType(all[i]) === "consent"; i--) {
      firstTrailingConsent = all[i];
    }
    if (type !== "consent" && firstTrailingConsent) list.insertBefore(row, firstTrailingConsent);
    else list.appendChild(row);
    var starter = STARTERS[type] || STARTERS.text;
    input(row, "type").value = type;
    input(row, "label").value = starter.label;
    input(row, "name").value = uniqueName(starter.name, row);
    if (starter.options) input(row, "options").value = starter.options;
    if (starter.consent_text) input(row, "consent_text").value = starter.consent_text;
    if (type === "hidden") input(row, "label").value = "";
    row.setAttribute("data-name-auto", "");
    row.setAttribute("data-maps-auto", "");
    followObvious(row);
    applyType(row);
    setExpanded(row, true);
    input(row, "label").focus();
    if (type === "hidden") input(row, "name").focus();
    announce("Added " + (config.types[type] || type) + " field at position " + position(row) + ".");
    changed();
    return row;
  }

  var addButton = document.getElementById("fb-add-button");
  if (addButton) {
    addButton.addEventListener("click", function () {
      addField(document.getElementById("fb-add-type").value);
    });
  }

  // --- drag and drop (HTML5), started from a row's handle ----------------------------------

  var dragged = null;

  function clearDropMarks() {
    list.querySelectorAll(".fb-drop-before, .fb-drop-after").forEach(function (row) {
      row.classList.remove("fb-drop-before", "fb-drop-after");
    });
  }

  if (editable) {
    list.addEventListener("mousedown", function (event) {
      var handle = event.target.closest(".fb-handle");
      if (handle) handle.closest(".fb-row").setAttribute("draggable", "true");
    });
    list.addEventListener("mouseup", function (event) {
      var row = event.target.closest(".fb-row");
      if (row && row !== dragged) row.removeAttribute("draggable");
    });
  }

  list.addEventListener("dragstart", function (event) {
    var row = event.target.closest && event.target.closest(".fb-row");
    if (!row || row.getAttribute("draggable") !== "true") {
      event.preventDefault();
      return;
    }
    dragged = row;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", rowTitle(row));
    window.setTimeout(function () { row.classList.add("fb-dragging"); }, 0);
  });

  function dropPlace(event) {
    var row = event.target.closest && event.target.closest(".fb-row");
    if (!row || !list.contains(row) || row === dragged) return null;
    var box = row.getBoundingClientRect();
    return { row: row, before: event.clientY < box.top + box.height / 2 };
  }

  list.addEventListener("dragover", function (event) {
    if (!dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    var place = dropPlace(event);
    clearDropMarks();
    if (place) place.row.classList.add(place.before ? "fb-drop-before" : "fb-drop-after");
  });

  list.addEventListener("drop", function (event) {
    if (!dragged) return;
    event.preventDefault();
    var place = dropPlace(event);
    clearDropMarks();
    if (!place) return;
    list.insertBefore(dragged, place.before ? place.row : place.row.nextSibling);
    announce(rowTitle(dragged) + " moved to position " + position(dragged) + " of " + rows().length + ".");
    changed();
  });

  list.addEventListener("dragend", function () {
    clearDropMarks();
    if (dragged) {
      dragged.classList.remove("fb-dragging");
      dragged.removeAttribute("draggable");
    }
    dragged = null;
  });

  // --- live preview --------------------------------------------------------------------------

  var previewTimer = null;
  var previewSeq = 0;

  function schedulePreview() {
    window.clearTimeout(previewTimer);
    previewStatus.textContent = "Updating…";
    previewTimer = window.setTimeout(refreshPreview, 250);
  }

  function showLiveErrors(byRow) {
    rows().forEach(function (row, index) {
      var box = row.querySelector(".fb-live-error");
      var messages = byRow[index] || [];
      box.textContent = messages.join(" ");
      box.hidden = !messages.length;
      row.classList.toggle("has-live-error", messages.length > 0);
    });
  }

  function refreshPreview() {
    var seq = ++previewSeq;
    var body = new URLSearchParams();
    body.set("fields", serialise());
    var submitLabel = builder.querySelector('[name="submit_label"]');
    body.set("submit_label", submitLabel ? submitLabel.value : "");
    var token = builder.querySelector('[name="csrfmiddlewaretoken"]').value;
    fetch(builder.getAttribute("data-preview-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token }
    }).then(function (response) {
      return response.text().then(function (html) { return { ok: response.ok, status: response.status, html: html }; });
    }).then(function (answer) {
      if (seq !== previewSeq) return; // a newer preview is on its way
      if (!answer.ok) {
        previewStatus.textContent = "Preview unavailable (" + answer.status + ")";
        return;
      }
      // A list of problems names each one as fields[i].setting: mark row i too.
      var byRow = {};
      var doc = new DOMParser().parseFromString(answer.html, "text/html");
      var problems = doc.querySelectorAll(".lf-preview-errors [data-field]");
      problems.forEach(function (item) {
        var match = /^fields\[(\d+)\]/.exec(item.getAttribute("data-field"));
        if (match) (byRow[match[1]] = byRow[match[1]] || []).push(item.getAttribute("data-message"));
      });
      showLiveErrors(byRow);
      preview.srcdoc = answer.html;
      previewStatus.textContent = problems.length ? "Needs fixing" : "Up to date";
    }).catch(function () {
      if (seq === previewSeq) previewStatus.textContent = "Preview unavailable (offline?)";
    });
  }

  // The preview runs no scripts (sandbox); fit the frame to its content.
  function fitPreview() {
    try {
      var doc = preview.contentDocument;
      if (doc && doc.documentElement) {
        preview.style.height = Math.max(doc.documentElement.scrollHeight, 160) + "px";
      }
    } catch (error) { /* not readable: keep the default height */ }
  }
  preview.addEventListener("load", fitPreview);
  fitPreview();

  // --- saving ---------------------------------------------------------------------------------

  builder.addEventListener("submit", function () {
    serialise();
    dirty = false;
  });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });

  // The embed snippets' copy buttons are app.js's (data-copy).

  rows().forEach(refreshHeader);
  serialise();
})();
