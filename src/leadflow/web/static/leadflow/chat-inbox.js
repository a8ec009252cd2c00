/* The chat inbox: scroll to the newest as chat-live.js (the thread's stream, or its poll)
   brings messages, show status changes, insert a canned reply into the reply box, and say
   "I am here" every 30 s (presence). Every action is a form. */
(function () {
  "use strict";
  var inbox = document.getElementById("chat-inbox");
  if (!inbox) return;
  var thread = document.getElementById("thread");

  function toBottom() {
    if (thread) thread.scrollTop = thread.scrollHeight;
  }
  toBottom();
  // chat-live.js (docs/chat/streams.md) appends what the stream or its poll brings.
  var STATUS = { bot: "With the bot", waiting: "Waiting for a person", assigned: "With a person", closed: "Closed" };
  inbox.addEventListener("chat-live:drawn", toBottom);
  inbox.addEventListener("chat-live:status", function (event) {
    var line = inbox.querySelector("[data-chat-status]");
    var data = event.detail || {};
    if (!line || !STATUS[data.status]) return;
    line.textContent = STATUS[data.status] + (data.assignee && data.assignee.name ? " · " + data.assignee.name : "");
  });

  var pick = inbox.querySelector(".canned-pick");
  if (pick) {
    pick.addEventListener("change", function () {
      var box = document.getElementById(pick.getAttribute("data-target"));
      if (!box || !pick.value) return;
      var start = box.selectionStart || box.value.length;
      box.value = box.value.slice(0, start) + pick.value + box.value.slice(box.selectionEnd || start);
      pick.value = "";
      box.focus();
    });
  }

  var url = inbox.getAttribute("data-presence-url");
  var token = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value;
  function beat() {
    if (!url || !token || document.hidden) return;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, "HX-Request": "true" }
    }).catch(function () {});
  }
  beat();
  setInterval(beat, 30000);
  document.addEventListener("visibilitychange", beat);
})();
