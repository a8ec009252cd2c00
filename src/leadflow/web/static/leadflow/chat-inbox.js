/* The chat inbox: keep the thread's data-last-seq current as the poll brings messages (a
   live stream can take over from there), scroll to the newest, insert a canned reply into
   the reply box, and say "I am here" every 30 s (presence). Works without it: the poll
   is htmx, every action is a form. */
(function () {
  "use strict";
  var inbox = document.getElementById("chat-inbox");
  if (!inbox) return;
  var thread = document.getElementById("thread");

  function toBottom() {
    if (thread) thread.scrollTop = thread.scrollHeight;
  }
  toBottom();
  document.body.addEventListener("htmx:afterSwap", function () {
    if (!thread) return;
    var poller = thread.querySelector(".inbox-poller");
    if (poller) {
      var seq = poller.getAttribute("data-last-seq");
      if (seq !== thread.getAttribute("data-last-seq")) {
        thread.setAttribute("data-last-seq", seq);
        toBottom();
      }
    }
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
