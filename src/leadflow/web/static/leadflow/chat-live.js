/* The inbox's live thread (docs/chat/streams.md): a server-sent events stream of one
   conversation, resumed from the last seq shown; polling when the stream tier is full or
   away; the gap fetched again on tab focus. The page works without it (the thread's own
   polling fragment, or a reload).

   Markup it reads (the inbox thread template provides it):
     <section data-chat-live
              data-conversation="42" data-last-seq="17"
              data-stream-url="https://host:8001/w/acme/chat/conversations/42/stream/"
              data-fragment-url="/w/acme/chat/conversations/42/messages/"   (HTML after ?after=)
              data-typing-url="/w/acme/chat/conversations/42/typing/">
       <ol data-chat-thread> <li data-seq="17">…</li> </ol>
       <p data-chat-typing hidden></p>
       <textarea data-chat-reply></textarea>
     </section>
   Messages are drawn by the server (the fragment, escaped there), never from event data;
   the element also gets "chat-live:message", "chat-live:status", "chat-live:typing" and
   "chat-live:drawn" (after items were appended)
   events (detail: the event's JSON) for whatever else the page shows. */
(function () {
  "use strict";

  var POLL_MS = 3000;
  var RETRY_STREAM_MS = 30000;
  var TYPING_SHOWN_MS = 6000;
  var TYPING_SEND_MS = 3000;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function Live(root) {
    this.root = root;
    this.thread = root.querySelector("[data-chat-thread]") || root;
    this.typing = root.querySelector("[data-chat-typing]");
    this.lastSeq = parseInt(root.getAttribute("data-last-seq") || "0", 10) || 0;
    this.streamUrl = root.getAttribute("data-stream-url");
    this.fragmentUrl = root.getAttribute("data-fragment-url");
    this.typingUrl = root.getAttribute("data-typing-url");
    this.source = null;
    this.pollTimer = null;
    this.fetching = false;
    this.again = false;
    this.typingTimer = null;
    this.typingSentAt = 0;
  }

  Live.prototype.start = function () {
    var self = this;
    if (this.streamUrl && window.EventSource) this.open();
    else this.poll();
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") self.resume();
    });
    window.addEventListener("focus", function () { self.resume(); });
    var reply = this.root.querySelector("[data-chat-reply]");
    if (reply && this.typingUrl) {
      reply.addEventListener("input", function () { self.sendTyping(); });
    }
  };

  Live.prototype.open = function () {
    var self = this;
    if (this.source) this.source.close();
    var url = this.streamUrl + (this.streamUrl.indexOf("?") < 0 ? "?" : "&") + "after=" + this.lastSeq;
    var source = new EventSource(url, { withCredentials: true });
    this.source = source;
    source.addEventListener("open", function () { self.stopPolling(); });
    source.addEventListener("message", function (event) {
      var message = JSON.parse(event.data);
      self.emit("message", message);
      if (message.seq > self.lastSeq) self.fetchGap();
    });
    source.addEventListener("status", function (event) { self.emit("status", JSON.parse(event.data)); });
    source.addEventListener("typing", function (event) { self.showTyping(JSON.parse(event.data)); });
    source.addEventListener("end", function () { source.close(); self.poll(); });
    source.addEventListener("error", function () {
      // Refused (503: the stream tier is full or away) or cut: poll, try a stream later.
      // The browser's own reconnect would resend Last-Event-ID; ours asks from lastSeq.
      source.close();
      if (self.source === source) self.source = null;
      self.poll();
      window.setTimeout(function () { if (!self.source) self.open(); }, RETRY_STREAM_MS);
    });
  };

  Live.prototype.poll = function () {
    var self = this;
    if (this.pollTimer) return;
    this.fetchGap();
    this.pollTimer = window.setInterval(function () { self.fetchGap(); }, POLL_MS);
  };

  Live.prototype.stopPolling = function () {
    if (this.pollTimer) window.clearInterval(this.pollTimer);
    this.pollTimer = null;
  };

  Live.prototype.resume = function () {
    this.fetchGap();
    if (this.streamUrl && window.EventSource && !this.source) this.open();
  };

  // Everything after the last seq shown, drawn by the server; one request at a time.
  Live.prototype.fetchGap = function () {
    var self = this;
    if (!this.fragmentUrl) return;
    if (this.fetching) { this.again = true; return; }
    this.fetching = true;
    var url = this.fragmentUrl + (this.fragmentUrl.indexOf("?") < 0 ? "?" : "&") + "after=" + this.lastSeq;
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (html) {
          var holder = document.createElement("template");
          holder.innerHTML = html;
          Array.prototype.forEach.call(holder.content.querySelectorAll("[data-seq]"), function (item) {
            var seq = parseInt(item.getAttribute("data-seq"), 10);
            if (seq > self.lastSeq) {
              self.thread.appendChild(item);
              self.lastSeq = seq;
            }
          });
          self.root.setAttribute("data-last-seq", String(self.lastSeq));
          self.emit("drawn", { last_seq: self.lastSeq });
        }
      })
      .catch(function () {})
      .then(function () {
        self.fetching = false;
        if (self.again) { self.again = false; self.fetchGap(); }
      });
  };

  Live.prototype.showTyping = function (data) {
    var self = this;
    this.emit("typing", data);
    if (!this.typing) return;
    this.typing.textContent = (data.name || (data.who === "visitor" ? "The visitor" : "Someone")) + " is typing…";
    this.typing.hidden = false;
    window.clearTimeout(this.typingTimer);
    this.typingTimer = window.setTimeout(function () { self.typing.hidden = true; }, TYPING_SHOWN_MS);
  };

  Live.prototype.sendTyping = function () {
    var now = Date.now();
    if (now - this.typingSentAt < TYPING_SEND_MS) return;
    this.typingSentAt = now;
    fetch(this.typingUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    }).catch(function () {});
  };

  Live.prototype.emit = function (name, detail) {
    this.root.dispatchEvent(new CustomEvent("chat-live:" + name, { detail: detail, bubbles: true }));
  };

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chat-live]"), function (root) {
      if (root.chatLive) return;
      root.chatLive = new Live(root);
      root.chatLive.start();
    });
  }
  window.LeadFlowChatLive = { init: init };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  document.addEventListener("htmx:afterSettle", init);
})();
