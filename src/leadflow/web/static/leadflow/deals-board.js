/* The deals board: drag a card to another column (SortableJS), or focus a card and press
   the Right / Left arrow key to move it to the next / previous stage. Every move posts to
   the server (with the CSRF token); a refusal puts the card back and says why. Without
   JavaScript each card's Move form does the same. */
(function () {
  "use strict";
  var board = document.querySelector("[data-board][data-can-move]");
  if (!board) return;
  var status = document.getElementById("board-status");
  var errorBox = document.getElementById("board-error");
  var lists = Array.prototype.slice.call(board.querySelectorAll(".board-cards"));

  function csrfToken() {
    var input = board.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function stageName(list) {
    var column = list.closest(".board-column");
    return column.querySelector("h2").textContent;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
  }

  function putBack(card, from, oldIndex) {
    var anchor = from.children[oldIndex] || null;
    if (anchor === card) return;
    from.insertBefore(card, anchor);
  }

  function update(columns) {
    Object.keys(columns).forEach(function (stageId) {
      var column = board.querySelector('.board-column[data-stage-id="' + stageId + '"]');
      if (!column) return;
      column.querySelector("[data-count]").textContent = columns[stageId].count;
      column.querySelector("[data-total]").textContent = columns[stageId].total;
    });
  }

  function move(card, from, oldIndex, to) {
    var body = new FormData();
    body.append("stage_id", to.dataset.stageId);
    card.setAttribute("aria-busy", "true");
    errorBox.hidden = true;
    return fetch(card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(
          function (data) { return { ok: response.ok, data: data }; },
          function () { return { ok: false, data: {} }; }
        );
      })
      .then(function (result) {
        if (!result.ok) throw new Error(result.data.error || "The server refused the move.");
        update(result.data.columns);
        var select = card.querySelector("[data-move-select]");
        if (select) select.value = to.dataset.stageId;
        card.setAttribute("aria-label", card.getAttribute("aria-label").replace(/in [^,]*$/, "in " + stageName(to)));
        status.textContent = "Moved to " + stageName(to) + ".";
      })
      .catch(function (error) {
        putBack(card, from, oldIndex);
        showError("Not moved: " + (error && error.message ? error.message : "the connection failed") + " The card is back where it was.");
        card.focus();
      })
      .finally(function () { card.removeAttribute("aria-busy"); });
  }

  lists.forEach(function (list) {
    if (window.Sortable) {
      window.Sortable.create(list, {
        group: "deals",
        animation: 120,
        draggable: ".deal-card",
        filter: "select, button, a, input",
        preventOnFilter: false,
        onEnd: function (event) {
          if (event.from === event.to) return;
          move(event.item, event.from, event.oldIndex, event.to);
        },
      });
    }
  });

  board.addEventListener("keydown", function (event) {
    var card = event.target;
    if (!card.classList || !card.classList.contains("deal-card")) return;
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    var from = card.parentElement;
    var index = lists.indexOf(from) + (event.key === "ArrowRight" ? 1 : -1);
    if (index < 0 || index >= lists.length) return;
    event.preventDefault();
    var to = lists[index];
    var oldIndex = Array.prototype.indexOf.call(from.children, card);
    to.insertBefore(card, to.firstChild);
    card.focus();
    move(card, from, oldIndex, to);
  });

  board.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest(".deal-card");
    if (!card) return;
    event.preventDefault();
    var from = card.parentElement;
    var to = board.querySelector('.board-cards[data-stage-id="' + form.stage_id.value + '"]');
    if (!to || to === from) return;
    var oldIndex = Array.prototype.indexOf.call(from.children, card);
    to.insertBefore(card, to.firstChild);
    card.focus();
    move(card, from, oldIndex, to);
  });
})();
