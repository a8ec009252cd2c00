/* LeadFlow email template editor: add, reorder, edit and delete blocks; preview the
   unsaved template as a chosen contact at desktop or phone width; send a test.

   The blocks live as JSON in the hidden input "blocks" (what Save posts); the server
   checks every field, compiles the email and renders the preview. The preview is shown
   in an iframe sandboxed without scripts and without this page's origin. */
(function () {
  "use strict";

  var root = document.getElementById("template-editor");
  var configNode = document.getElementById("te-config");
  if (!root || !configNode) return;
  var config = JSON.parse(configNode.textContent);
  var form = document.getElementById("te-form");
  var editable = root.hasAttribute("data-editable");
  var kind = root.getAttribute("data-kind");
  var blocksInput = document.getElementById("te-blocks-json");
  var list = document.getElementById("te-blocks");
  var announcer = document.getElementById("te-announce");
  var frame = document.getElementById("te-preview");
  var subjectNode = document.getElementById("te-subject");
  var previewStatus = document.getElementById("te-preview-status");
  var contactSelect = document.getElementById("te-contact");
  var contactSearch = document.getElementById("te-contact-q");
  var dirtyNote = document.getElementById("te-dirty");
  var errors = config.errors || {};
  var blocks = [];
  var uid = 0;
  var dirty = Object.keys(errors).length > 0;
  var INNER_TYPES = ["text", "image", "button"];

  document.querySelectorAll("[data-js-only]").forEach(function (node) { node.hidden = false; });

  function announce(text) {
    if (!announcer) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 30);
  }
  function typeLabel(type) { return (config.types[type] || { label: type }).label; }
  function csrf() {
    var node = form.querySelector("[name=csrfmiddlewaretoken]");
    return node ? node.value : "";
  }
  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function starter(type) {
    var block = { type: type };
    config.types[type].fields.forEach(function (field) {
      if (field.default !== "" && field.default !== null) block[field.name] = field.default;
    });
    if (type === "text") block.text = "Write your text here.";
    if (type === "header") block.text = "A heading";
    if (type === "button") { block.label = "Find out more"; block.href = "https://www.example.com/"; }
    if (type === "image") { block.src = "https://www.example.com/picture.png"; block.alt = ""; }
    if (type === "columns") block.columns = [[starter("text")], [starter("button")]];
    return block;
  }

  // --- the block list ---------------------------------------------------------------------

  function fieldNode(block, field, path, title) {
    var id = "te-f-" + (uid += 1);
    var wide = field.kind === "rich" || field.kind === "url" || field.kind === "line";
    var wrap = el("div", { "class": "field" + (wide ? " fb-wide" : "") });
    var label = el("label", { "for": id }, field.label);
    var value = block[field.name] === undefined ? "" : block[field.name];
    if (field.kind === "rich") value = plainParagraphs(value);
    var input;
    if (field.kind === "rich") {
      input = el("textarea", { id: id, rows: "5" });
      input.value = value;
    } else if (field.kind === "align") {
      input = el("select", { id: id });
      ["left", "center", "right"].forEach(function (option) {
        var node = el("option", { value: option }, option.charAt(0).toUpperCase() + option.slice(1));
        if (option === (value || field.default)) node.selected = true;
        input.appendChild(node);
      });
    } else {
      var type = field.kind === "url" ? "url" : field.kind === "colour" ? "color" :
        field.kind.indexOf("int:") === 0 ? "number" : "text";
      input = el("input", { id: id, type: type });
      input.value = value;
    }
    label.appendChild(el("span", { "class": "visually-hidden" }, " (" + title + ")"));
    input.addEventListener("input", function () {
      var text = input.value;
      block[field.name] = field.kind.indexOf("int:") === 0 && /^\d+$/.test(text) ? parseInt(text, 10) : text;
      changed();
    });
    wrap.appendChild(label);
    if (field.kind === "rich") wrap.appendChild(toolbar(input, block, field, title));
    wrap.appendChild(input);
    var messages = errors[path + "." + field.name];
    if (field.kind === "rich") {
      wrap.appendChild(el("p", { "class": "help" }, "A blank line starts a new paragraph. Bold, italic and links are kept."));
    }
    if (messages) {
      wrap.classList.add("has-error");
      var error = el("p", { "class": "error", id: id + "-error" }, messages.join(" "));
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id + "-error");
      wrap.appendChild(error);
    }
    return wrap;
  }

  // Stored rich text (<p>…</p><p>…</p>) shown as the author typed it: blank lines between
  // paragraphs, line breaks as new lines. Bold, italic and links stay as tags.
  function plainParagraphs(text) {
    if (typeof text !== "string" || /<p\s/i.test(text)) return text;
    return text.replace(/<br\s*\/?>/gi, "\n").replace(/<\/p>\s*<p>/gi, "\n\n")
      .replace(/^\s*<p>/i, "").replace(/<\/p>\s*$/i, "");
  }

  function toolbar(input, block, field, title) {
    var bar = el("div", { "class": "te-toolbar", role: "group", "aria-label": "Format " + title });
    [["Bold", "<strong>", "</strong>"], ["Italic", "<em>", "</em>"], ["Link", null, "</a>"]].forEach(function (tool) {
      var button = el("button", { type: "button", "class": "button small" }, tool[0]);
      button.addEventListener("click", function () {
        var start = input.selectionStart, end = input.selectionEnd;
        var open = tool[1];
        if (!open) {
          var url = window.prompt("Link address", "https://");
          if (!url) return;
          open = '<a href="' + url.replace(/"/g, "%22") + '">';
        }
        var text = input.value;
        input.value = text.slice(0, start) + open + text.slice(start, end) + tool[2] + text.slice(end);
        block[field.name] = input.value;
        input.focus();
        changed();
      });
      bar.appendChild(button);
    });
    return bar;
  }

  function moveButtons(items, index, title, redraw) {
    var actions = el("div", { "class": "fb-row-actions" });
    [["Up", -1], ["Down", 1]].forEach(function (move) {
      var button = el("button", { type: "button", "class": "button small", "aria-label": "Move " + title + " " + move[0].toLowerCase() }, move[0] === "Up" ? "↑" : "↓");
      var target = index + move[1];
      button.disabled = target < 0 || target >= items.length;
      button.setAttribute("data-move", move[0]);
      button.addEventListener("click", function () {
        var container = button.closest("ol");
        var moved = items.splice(index, 1)[0];
        items.splice(target, 0, moved);
        redraw();
        changed();
        announce(typeLabel(moved.type) + " block moved to position " + (target + 1) + ".");
        var row = container.children[target];
        var again = row && row.querySelector('button[data-move="' + move[0] + '"]');
        if (again && again.disabled) again = row.querySelector("button[data-move]:not([disabled])");
        if (again) again.focus();
      });
      actions.appendChild(button);
    });
    var remove = el("button", { type: "button", "class": "button small danger-text", "aria-label": "Delete " + title }, "Delete");
    remove.addEventListener("click", function () {
      items.splice(index, 1);
      redraw();
      changed();
      announce(title + " deleted.");
      var add = document.getElementById("te-add-type");
      if (add) add.focus();
    });
    actions.appendChild(remove);
    return actions;
  }

  function blockNode(block, items, index, path, titlePrefix, redraw, shortPrefix) {
    var title = titlePrefix + (index + 1) + ": " + typeLabel(block.type);
    var item = el("li", { "class": "fb-row te-block" });
    var head = el("div", { "class": "fb-row-head" });
    var heading = el("h3", { "class": "fb-row-title" });
    if (shortPrefix) {  // inside a column: a short heading, the full name for screen readers
      heading.appendChild(el("span", { "aria-hidden": "true" }, shortPrefix + (index + 1) + ": " + typeLabel(block.type)));
      heading.appendChild(el("span", { "class": "visually-hidden" }, title));
    } else {
      heading.textContent = title;
    }
    head.appendChild(heading);
    if (editable) head.appendChild(moveButtons(items, index, title, redraw));
    item.appendChild(head);
    var body = el("div", { "class": "fb-row-body fb-grid" });
    var typeError = errors[path + ".type"];
    if (typeError) body.appendChild(el("p", { "class": "error" }, typeError.join(" ")));
    (config.types[block.type] || { fields: [] }).fields.forEach(function (field) {
      body.appendChild(fieldNode(block, field, path, title));
    });
    if (block.type === "columns") {
      var columns = columnsNode(block, path, title);
      columns.classList.add("fb-wide");
      body.appendChild(columns);
    }
    item.appendChild(body);
    return item;
  }

  function columnsNode(block, path, title) {
    if (!Array.isArray(block.columns)) block.columns = [[], []];
    var grid = el("div", { "class": "te-columns" });
    block.columns.forEach(function (column, number) {
      var side = number === 0 ? "Left" : "Right";
      var box = el("div", { "class": "te-column" });
      box.appendChild(el("h4", {}, side + " column"));
      var inner = el("ol", { "class": "fb-list" });
      function redrawColumn() {
        inner.textContent = "";
        column.forEach(function (child, index) {
          inner.appendChild(blockNode(child, column, index, path + ".columns[" + number + "][" + index + "]", title + ", " + side.toLowerCase() + " ", redrawColumn, side + " "));
        });
      }
      redrawColumn();
      box.appendChild(inner);
      if (editable) {
        var id = "te-f-" + (uid += 1);
        var add = el("div", { "class": "fb-add" });
        add.appendChild(el("label", { "for": id }, "Add to the " + side.toLowerCase() + " column"));
        var select = el("select", { id: id });
        INNER_TYPES.forEach(function (type) { select.appendChild(el("option", { value: type }, typeLabel(type))); });
        var button = el("button", { type: "button", "class": "button small" }, "Add");
        button.setAttribute("aria-label", "Add to the " + side.toLowerCase() + " column of " + title);
        button.addEventListener("click", function () {
          column.push(starter(select.value));
          redrawColumn();
          changed();
        });
        add.appendChild(select);
        add.appendChild(button);
        box.appendChild(add);
      }
      grid.appendChild(box);
    });
    return grid;
  }

  function draw() {
    if (!list) return;
    list.textContent = "";
    blocks.forEach(function (block, index) {
      list.appendChild(blockNode(block, blocks, index, "blocks[" + index + "]", "Block ", draw));
    });
  }

  function changed() {
    if (blocksInput) blocksInput.value = JSON.stringify(blocks);
    dirty = true;
    if (dirtyNote) dirtyNote.hidden = false;
    errors = {};
    schedulePreview();
  }

  if (blocksInput) {
    blocksInput.disabled = false;
    try { blocks = JSON.parse(blocksInput.value || "[]"); } catch (error) { blocks = []; }
    if (!Array.isArray(blocks)) blocks = [];
    draw();
    var addType = document.getElementById("te-add-type");
    var addButton = document.getElementById("te-add-button");
    if (addType && addButton) {
      Object.keys(config.types).forEach(function (type) { addType.appendChild(el("option", { value: type }, typeLabel(type))); });
      addButton.addEventListener("click", function () {
        blocks.push(starter(addType.value));
        draw();
        changed();
        announce(typeLabel(addType.value) + " block added as block " + blocks.length + ".");
        var rows = list.querySelectorAll(":scope > .te-block");
        var first = rows[rows.length - 1].querySelector("input, textarea, select");
        if (first) first.focus();
      });
    }
  }

  // --- the preview ------------------------------------------------------------------------

  var timer = null;
  var asked = 0;
  function schedulePreview() {
    window.clearTimeout(timer);
    timer = window.setTimeout(preview, 350);
  }

  function preview() {
    var body = new FormData(form);
    body.set("contact_id", contactSelect ? contactSelect.value : "");
    if (blocksInput) body.set("blocks", JSON.stringify(blocks));
    var number = (asked += 1);
    previewStatus.textContent = "Updating…";
    fetch(root.getAttribute("data-preview-url"), {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf() }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      if (number !== asked) return;
      if (!answer.ok) {
        var problems = answer.data.errors || {};
        var names = Object.keys(problems);
        previewStatus.textContent = names.length ? "Not shown: " + names[0] + " — " + problems[names[0]].join(" ") : "Not shown.";
        return;
      }
      frame.srcdoc = answer.data.html;
      subjectNode.textContent = answer.data.subject;
      var who = contactSelect && contactSelect.value ? contactSelect.options[contactSelect.selectedIndex].text : "a sample person";
      previewStatus.textContent = (dirty ? "Unsaved changes, as " : "As saved, for ") + who;
    }).catch(function () {
      if (number === asked) previewStatus.textContent = "The preview could not be loaded.";
    });
  }

  if (form) {
    form.addEventListener("input", function (event) {
      if (event.target.closest(".te-block")) return;  // blocks call changed() themselves
      dirty = true;
      if (dirtyNote) dirtyNote.hidden = false;
      schedulePreview();
    });
  }
  if (contactSelect) contactSelect.addEventListener("change", preview);

  var searchTimer = null;
  if (contactSearch) {
    contactSearch.addEventListener("input", function () {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(function () {
        var url = root.getAttribute("data-contacts-url") + "?q=" + encodeURIComponent(contactSearch.value);
        fetch(url, { credentials: "same-origin" }).then(function (response) { return response.json(); }).then(function (data) {
          var keep = contactSelect.value;
          while (contactSelect.options.length > 1) contactSelect.remove(1);
          data.contacts.forEach(function (contact) {
            var option = el("option", { value: String(contact.id) }, contact.label);
            if (String(contact.id) === keep) option.selected = true;
            contactSelect.appendChild(option);
          });
          announce(data.contacts.length + " contact(s) found.");
        });
      }, 250);
    });
  }

  document.querySelectorAll("input[name=te-width]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      frame.classList.toggle("te-mobile", radio.value === "mobile" && radio.checked);
    });
    // On a phone the preview starts at a phone's width.
    if (radio.value === "mobile" && window.matchMedia("(max-width: 700px)").matches) {
      radio.checked = true;
      frame.classList.add("te-mobile");
    }
  });

  // --- the test send ----------------------------------------------------------------------

  var testButton = document.getElementById("te-test-button");
  if (testButton) {
    testButton.addEventListener("click", function () {
      var status = document.getElementById("te-test-status");
      var body = new FormData();
      body.set("identity_id", document.getElementById("te-identity").value);
      body.set("to", document.getElementById("te-test-to").value);
      body.set("contact_id", contactSelect ? contactSelect.value : "");
      testButton.disabled = true;
      status.textContent = "Sending…";
      fetch(root.getAttribute("data-test-url"), {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf() }
      }).then(function (response) { return response.json(); }).then(function (data) {
        if (data.message) { status.textContent = data.message; return; }
        var problems = data.errors || {};
        status.textContent = Object.keys(problems).map(function (name) { return problems[name].join(" "); }).join(" ") || "Not sent.";
      }).catch(function () {
        status.textContent = "Not sent: the server could not be reached.";
      }).then(function () { testButton.disabled = false; });
    });
  }
})();
