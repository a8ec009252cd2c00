/* LeadFlow chat widget (docs/chat/widget.md). Loaded by the launcher (chat-launcher.js) on
 * the first click, a proactive start or a reload while the chat was open; drawn inside the
 * launcher's shadow root. Every text is set with textContent; links only to http(s).
 *
 * Messages carry a per-conversation seq: the widget keeps the highest seq it saw without a
 * gap and, after any reconnect, tab focus or out-of-order message, asks the server for what
 * came after it (GET /e/chat/messages?after=). Live messages come from the stream when the
 * server offers one (EventSource), else from a poll every 3 s. A visitor's message has an id
 * made here (client_id): a send that fails on the network is retried with the same id, so the
 * server stores it once. The conversation's signed token is kept per workspace key in
 * localStorage: a reload resumes it. */
(function (w, d) {
  "use strict";

  var C = w.leadflowChat;
  if (!C || C.ui || !C.config) return;
  var config = C.config, key = C.key, base = C.base, root = C.root;
  var TOKEN = "lf_chat_t:" + key;
  var OPEN = "lf_chat_o:" + key;
  var LIVE = "lf_chat_l:" + key; // a person has the chat: the launcher loads this at once
  var READ = "lf_chat_r:" + key; // the highest seq seen with the panel open
  var POLL = 3000;
  var OFFER_AFTER = 20000; // thinking this long: offer a person
  var TYPING_EVERY = 3000;
  var WHO = { bot: "Bot", visitor: "You", agent: "Agent", system: "Notice" };
  var INPUTS = {
    text: ["text", "Your answer", ""],
    email: ["email", "Your email address", "email"],
    phone: ["tel", "Your phone number", "tel"],
    number: ["text", "A number", "off", "decimal"],
    date: ["date", "A date", "off"],
    choice: ["text", "Your answer (or pick one above)", "off"],
  };

  var token = store(TOKEN) || "";
  var status = "";
  var statusSeq = 0; // the conversation's seq when the status shown was read
  var readSeq = +store(READ) || 0;
  var waiting = "";
  var last = 0; // the highest seq seen without a gap before it
  var seen = {};
  var pending = {}; // client_id -> the visitor's message shown before the server has it
  var queue = [];
  var sending = false;
  var streamUrl = null;
  var stream = null;
  var live = false;
  var backoff = 0;
  var pollTimer = 0;
  var gapping = false;
  var thinkingSince = 0;
  var thinkTimer = 0;
  var typingSent = 0;
  var typingTimer = 0;
  var started = false;
  var proactiveText = "";

  // --- small helpers ---------------------------------------------------------------------

  function store(name, value) {
    try {
      if (value === undefined) return localStorage.getItem(name);
      if (value === null) localStorage.removeItem(name);
      else localStorage.setItem(name, value);
    } catch (error) {}
    return null;
  }

  function node(tag, className, text, attrs) {
    var element = d.createElement(tag);
    if (className) element.className = className;
    if (text != null) element.textContent = text;
    for (var name in attrs || {}) element.setAttribute(name, attrs[name]);
    return element;
  }

  function button(text, className, onClick, attrs) {
    var element = node("button", className, text, attrs);
    element.type = "button";
    element.addEventListener("click", onClick);
    return element;
  }

  function webAddress(text) {
    try {
      var url = new URL(text);
      return /^https?:$/.test(url.protocol) ? url.href : "";
    } catch (error) {
      return "";
    }
  }

  function link(text, href, className) {
    var element = node("a", className, text, { href: href, target: "_blank", rel: "noopener noreferrer" });
    return element;
  }

  function uid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function problem(failure) {
    var body = (failure && failure.body) || {};
    var first = body.errors && body.errors[0];
    return (first && first.message) || body.detail || "Something went wrong; please try again.";
  }

  function retryable(failure) {
    return !failure.status || failure.status >= 500 || failure.status === 429;
  }

  function request(path, body) {
    var options = { credentials: "omit" };
    if (body) {
      body.key = key;
      options.method = "POST";
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    return fetch(base + path, options).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (json) {
            if (response.ok) return json;
            throw { status: response.status, body: json, wait: +response.headers.get("Retry-After") || 0 };
          });
      },
      function () {
        throw { status: 0, body: {} }; // the network: retry
      }
    );
  }

  // --- the panel ---------------------------------------------------------------------------

  var position = config.launcher.position === "left" ? " left" : "";
  var style = node("link", "", null, { rel: "stylesheet", href: base + config.style });
  var panel = node("div", "p" + position, null, { role: "dialog", "aria-labelledby": "lf-title", "aria-modal": "false" });
  var title = node("h2", "", config.launcher.label, { id: "lf-title" });
  var statusLine = node("span", "st", "", { role: "status" });
  var closer = button("×", "x", close, { "aria-label": "Close the chat" });
  var head = node("div", "h");
  var log = node("div", "log", null, { role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
  var thinking = node("p", "think", null, { role: "status" });
  var bar = node("div", "bar");
  var human = button("Talk to a person", "b", talkToPerson);
  var consentBox = node("div", "consent");
  var form = node("form", "f");
  var field = node("input", "in", null, { id: "lf-in", autocomplete: "off", maxlength: "2000" });
  var fieldLabel = node("label", "sr", "Your message", { for: "lf-in" });
  var sendButton = node("button", "send", "Send", { type: "submit" });
  var end = node("div", "end");
  var mail = node("details", "mail");
  var bubble = node("div", "bubble" + position);
  [panel, bubble].forEach(function (element) {
    element.style.setProperty("--c", config.launcher.colour);
    element.style.setProperty("--ct", config.launcher.text_colour);
  });

  head.append(title, statusLine, closer);
  thinking.hidden = true;
  consentBox.hidden = true;
  end.hidden = true;
  mail.hidden = true;
  bar.append(human);
  form.append(fieldLabel, field, sendButton);
  panel.append(head, log, thinking, consentBox, bar, form, end, mail);
  panel.hidden = true;
  bubble.hidden = true;
  root.append(style, bubble, panel);
  if (config.greeting) log.append(node("p", "g", config.greeting));

  transcriptForm(mail, true);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = field.value.trim();
    if (!text || !token) return;
    field.value = "";
    send(text);
  });
  field.addEventListener("input", typing);
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) close();
  });

  function isOpen() {
    return !panel.hidden;
  }

  function show(focus) {
    bubble.hidden = true;
    panel.hidden = false;
    C.root.host.classList.add("open");
    C.button.setAttribute("aria-expanded", "true");
    store(OPEN, "1");
    markRead();
    begin();
    if (focus) focusInside();
    scrollDown();
    catchUp();
  }

  function close() {
    panel.hidden = true;
    C.root.host.classList.remove("open");
    C.button.setAttribute("aria-expanded", "false");
    store(OPEN, null);
    C.button.focus();
  }

  function focusInside() {
    var target = !consentBox.hidden ? consentBox.querySelector("button") : !form.hidden ? field : closer;
    target.focus();
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function showBubble() {
    if (isOpen() || !config.proactive) return;
    proactiveText = config.proactive.message;
    bubble.textContent = "";
    bubble.append(
      button(proactiveText, "bt", function () {
        show(true);
      }),
      button("×", "x", function () {
        bubble.hidden = true;
        C.button.focus();
      }, { "aria-label": "Dismiss the message" })
    );
    bubble.setAttribute("role", "status");
    bubble.hidden = false;
  }

  // --- starting, resuming ------------------------------------------------------------------

  function begin() {
    if (started) return;
    if (token) return start({ token: token });
    if (proactiveText && !log.querySelector(".pro")) log.append(message({ author: "bot", text: proactiveText, payload: {} }, "pro"));
    var consent = config.consent || {};
    if (consent.required) return askConsent(consent);
    start({});
  }

  function askConsent(consent) {
    consentBox.textContent = "";
    var text = node("p", "", consent.text);
    var privacy = webAddress(consent.privacy_url || "");
    if (privacy) {
      text.append(" ");
      text.append(link("Privacy policy", privacy));
    }
    consentBox.append(
      text,
      button("Accept and start the chat", "go", function () {
        consentBox.hidden = true;
        form.hidden = false;
        start({ consent: true });
        field.focus();
      })
    );
    consentBox.hidden = false;
    form.hidden = true;
    bar.hidden = true;
  }

  function start(body) {
    started = true;
    if (!body.token) {
      body.page_url = location.href.slice(0, 2000);
      body.flow = config.flow;
      var visitor = w.leadflow && w.leadflow.visitorId;
      if (visitor) body.visitor_id = visitor;
    }
    request("/e/chat/start", body).then(handle, function (failure) {
      started = false;
      if (body.token && failure.status === 404) {
        token = "";
        store(TOKEN, null);
        return begin(); // an old token: a new conversation
      }
      notice(problem(failure), true);
      if (retryable(failure)) setTimeout(begin, Math.max(3000, failure.wait * 1000));
    });
  }

  // --- what the server answers ----------------------------------------------------------------

  function handle(reply) {
    if (reply.token && reply.token !== token) {
      token = reply.token;
      store(TOKEN, token);
      // Another conversation (the first, or a new one after an old token was refused):
      // what was read of an earlier one says nothing about this one.
      if (!reply.resumed) store(READ, String((readSeq = 0)));
    }
    if ("stream_url" in reply) streamUrl = reply.stream_url;
    if ("waiting_for" in reply) waiting = reply.waiting_for;
    (reply.messages || []).forEach(add);
    setStatus(reply.status, reply.assignee, reply.last_seq);
    if (reply.last_seq > last) gap();
    refresh();
    connect();
  }

  function add(data) {
    if (!data || !data.seq || seen[data.seq]) return;
    seen[data.seq] = data;
    var element = data.client_id && pending[data.client_id];
    if (element) {
      delete pending[data.client_id];
      element.classList.remove("sending", "failed");
      var note = element.querySelector(".note");
      if (note) note.remove();
    } else {
      element = message(data);
    }
    element.setAttribute("data-seq", data.seq);
    place(element, data.seq);
    while (seen[last + 1]) last++;
    if (data.seq > last) gap(); // something came out of order: fetch what is missing
    if (data.author !== "visitor" && data.payload && data.payload.handover) setStatus(status);
    if (isOpen()) markRead();
    else badge();
  }

  // What came while the panel was closed: a count on the launcher, also after another page.
  function markRead() {
    if (last > readSeq) store(READ, String((readSeq = last)));
    badge();
  }

  function badge() {
    var unread = 0;
    for (var seq in seen) if (+seq > readSeq && /^(agent|bot)$/.test(seen[seq].author)) unread++;
    var count = C.button.querySelector(".n");
    if (!unread || isOpen()) {
      if (count) count.remove();
      C.button.removeAttribute("aria-label");
      return;
    }
    if (!count) {
      count = C.button.appendChild(node("span", "n"));
      count.style.cssText = "display:inline-block;margin-left:8px;min-width:1.4em;padding:1px 5px;border-radius:9px;background:#fff;color:#b3261e;font-size:13px";
    }
    count.textContent = unread > 9 ? "9+" : String(unread);
    C.button.setAttribute("aria-label", C.label + ", " + unread + (unread === 1 ? " new message" : " new messages"));
  }

  function place(element, seq) {
    var after = null;
    var children = log.children;
    for (var i = 0; i < children.length; i++) {
      var other = children[i];
      var otherSeq = +other.getAttribute("data-seq");
      if (other.classList.contains("m") && !other.classList.contains("pro") && (!otherSeq || otherSeq > seq)) {
        after = other;
        break;
      }
    }
    log.insertBefore(element, after);
    if (element.classList.contains("visitor")) settle(seq);
    scrollDown();
  }

  // Buttons offered before the visitor's latest message are history: they no longer act.
  function settle(visitorSeq) {
    [].forEach.call(log.querySelectorAll(".m[data-seq] .acts.once"), function (group) {
      if (!visitorSeq || +group.closest(".m").getAttribute("data-seq") < visitorSeq) {
        [].forEach.call(group.querySelectorAll("button"), function (b) {
          b.disabled = true;
        });
      }
    });
  }

  function maxSeq() {
    var top = 0;
    for (var seq in seen) top = Math.max(top, +seq);
    return top;
  }

  function lastMessage() {
    return seen[maxSeq()];
  }

  function message(data, extra) {
    var author = WHO[data.author] ? data.author : "system";
    var payload = data.payload || {};
    var element = node("div", "m " + author + (extra ? " " + extra : ""));
    var name = author === "agent" ? payload.agent || "Agent" : WHO[author];
    element.append(node("span", author === "agent" ? "who" : "sr", name + (author === "agent" ? "" : ": ")));
    var text = data.text || (author === "system" ? systemText(payload) : "");
    if (text) element.append(node("p", "", text));
    if (payload.citation) {
      var cite = node("p", "cite", "Source: ");
      var href = webAddress(payload.citation.link || "");
      cite.append(href ? link(payload.citation.title || href, href) : payload.citation.title || "");
      element.append(cite);
    }
    if (payload.input === "choice" && payload.choices) {
      element.append(actions(payload.choices.map(function (choice) {
        return [choice.label || choice.value, choice.label || choice.value];
      })));
    }
    if (payload.suggestions && payload.suggestions.length) {
      element.append(actions(payload.suggestions.map(function (suggestion) {
        return [suggestion.title, suggestion.title];
      })));
    }
    if (payload.slots && payload.slots.length) {
      element.append(actions(payload.slots.map(function (slot) {
        return [slot.label || slot.value, slot.value];
      })));
    }
    if (payload.product) element.append(productCard(payload.product));
    if (payload.order) {
      var pay = webAddress(payload.order.checkout_url || "");
      if (pay) element.append(link("Pay", pay, "pay"));
    }
    if (payload.handover === "offline" && payload.ask_email) element.append(offlineForm());
    return element;
  }

  function systemText(payload) {
    if (payload.handover === "offline") return config.offline_message || "We're away right now.";
    if (payload.handover === "assigned") return (payload.assignee || "Someone") + " joined the chat.";
    if (payload.handover) {
      var by = payload.reply_by ? new Date(payload.reply_by) : null;
      var when = by && !isNaN(by) ? " A person will reply by " + by.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) + "." : "";
      return "We're bringing in a person." + when;
    }
    return "";
  }

  function actions(items) {
    var group = node("div", "acts once", null, { role: "group", "aria-label": "Replies" });
    items.forEach(function (item) {
      group.append(button(item[0], "", function (event) {
        event.currentTarget.setAttribute("aria-pressed", "true");
        send(item[1]);
        field.focus();
      }));
    });
    return group;
  }

  function productCard(product) {
    var card = node("div", "card");
    card.append(node("strong", "", product.name || ""));
    if (product.price != null) {
      var price = product.price + " " + (product.currency || "");
      try {
        price = new Intl.NumberFormat(undefined, { style: "currency", currency: product.currency }).format(+product.price);
      } catch (error) {}
      card.append(node("p", "price", price));
    }
    if (product.description) card.append(node("p", "", product.description));
    var group = node("div", "acts once");
    group.append(button("Buy", "", function () {
      send("Buy");
    }, { "aria-label": "Buy " + (product.name || "") }));
    card.append(group);
    return card;
  }

  function notice(text, error) {
    var element = node("div", "m system", null, error ? { role: "alert" } : null);
    element.append(node("p", error ? "err" : "", text));
    log.append(element);
    scrollDown();
  }

  // --- status, thinking, the composer --------------------------------------------------------

  function setStatus(next, assignee, atSeq) {
    // Answers arrive from the post, the poll and the stream, not always in the order they
    // were read: the status read at the higher seq wins, and an ended chat stays ended.
    if (next && atSeq !== undefined) {
      if (atSeq < statusSeq || (atSeq === statusSeq && status === "closed" && next !== "closed")) return;
      statusSeq = atSeq;
    }
    if (next) status = next;
    store(LIVE, status === "waiting" || status === "assigned" ? "1" : null);
    if (status && status !== "bot") settle(0); // the bot's buttons go with the bot
    var name = assignee && assignee.name;
    statusLine.textContent =
      status === "waiting" ? "Waiting for a person" : status === "assigned" ? "Chatting with " + (name || "a person") : status === "closed" ? "Chat ended" : "";
    human.hidden = status !== "bot";
    bar.hidden = human.hidden || !consentBox.hidden;
    if (status === "closed") ended();
    else {
      end.hidden = true;
      form.hidden = !consentBox.hidden;
    }
    mail.hidden = !token;
  }

  function refresh() {
    var newest = lastMessage();
    var think = status === "bot" && waiting !== "input" && newest && newest.author === "visitor" && !queue.length;
    if (think && !thinkingSince) {
      thinkingSince = Date.now();
      thinking.textContent = "Thinking…";
      thinking.hidden = false;
      clearTimeout(thinkTimer);
      thinkTimer = setTimeout(function () {
        if (!thinkingSince) return;
        thinking.textContent = "This is taking a while. ";
        thinking.append(button("Talk to a person", "b", talkToPerson));
      }, OFFER_AFTER);
    } else if (!think && thinkingSince) {
      thinkingSince = 0;
      clearTimeout(thinkTimer);
      thinking.hidden = true;
      thinking.textContent = "";
    }
    // The composer follows the question the bot waits on.
    var question = newest && newest.author === "bot" && newest.payload && newest.payload.input;
    var kind = INPUTS[question] || ["text", "Your message", "off"];
    if (field.type !== kind[0]) field.type = kind[0];
    fieldLabel.textContent = kind[1];
    field.setAttribute("autocomplete", kind[2] || "off");
    if (kind[3]) field.setAttribute("inputmode", kind[3]);
    else field.removeAttribute("inputmode");
    field.setAttribute("placeholder", question ? kind[1] : "Type a message");
  }

  // --- sending -------------------------------------------------------------------------------

  function send(text) {
    var id = uid();
    var element = message({ author: "visitor", text: text, payload: {} }, "sending");
    pending[id] = element;
    settle(0);
    log.append(element);
    scrollDown();
    queue.push({ text: text, id: id, tries: 0, element: element });
    pump();
  }

  function pump() {
    if (sending || !queue.length) return;
    sending = true;
    var item = queue[0];
    request("/e/chat/message", { token: token, text: item.text, client_id: item.id }).then(
      function (reply) {
        sending = false;
        queue.shift();
        handle(reply);
        pump();
      },
      function (failure) {
        if (retryable(failure)) {
          item.tries++;
          mark(item.element, "Not sent yet; trying again…");
          setTimeout(function () {
            sending = false;
            pump();
          }, Math.max(failure.wait * 1000, Math.min(30000, 1000 * Math.pow(2, item.tries))));
          return;
        }
        sending = false;
        queue.shift();
        delete pending[item.id];
        item.element.classList.remove("sending");
        item.element.classList.add("failed");
        mark(item.element, "Not sent: " + problem(failure));
        if (failure.status === 409) setStatus("closed", null, Infinity); // ended on the server
        pump();
      }
    );
  }

  function mark(element, text) {
    var note = element.querySelector(".note") || element.appendChild(node("span", "note", null, { role: "status" }));
    note.textContent = text;
  }

  function typing() {
    if (!token || (status !== "waiting" && status !== "assigned") || Date.now() - typingSent < TYPING_EVERY) return;
    typingSent = Date.now();
    request("/e/chat/typing", { token: token }).catch(function () {});
  }

  function talkToPerson() {
    if (!token) return;
    var id = uid();
    var tries = 0;
    var hadFocus = !!root.activeElement && root.activeElement.textContent === "Talk to a person";
    human.disabled = true;
    (function attempt() {
      request("/e/chat/handover", { token: token, client_id: id }).then(
        function (reply) {
          human.disabled = false;
          handle(reply);
          // The button goes away with the hand-over: the focus moves on to the composer
          // (not to the page behind, where Escape and typing would be lost).
          if (hadFocus && isOpen()) (!form.hidden ? field : closer).focus();
        },
        function (failure) {
          if (retryable(failure) && tries++ < 5) return setTimeout(attempt, 1000 * Math.pow(2, tries));
          human.disabled = false;
          notice(failure.status === 404 ? "Nobody can be reached from here right now." : problem(failure), true);
        }
      );
    })();
  }

  // --- live: the stream, or the poll -----------------------------------------------------------

  function connect() {
    if (stream || !streamUrl || !token || status === "closed" || !w.EventSource) return startPoll();
    var url = streamUrl + (streamUrl.indexOf("?") < 0 ? "?" : "&") +
      "key=" + encodeURIComponent(key) + "&token=" + encodeURIComponent(token) + "&after=" + last;
    stream = new EventSource(url);
    stream.addEventListener("open", function () {
      live = true;
      backoff = 0;
      stopPoll();
    });
    stream.addEventListener("message", function (event) {
      try {
        add(JSON.parse(event.data));
      } catch (error) {}
      refresh();
    });
    stream.addEventListener("status", function (event) {
      try {
        var data = JSON.parse(event.data);
        setStatus(data.status, data.assignee, data.seq);
      } catch (error) {}
      refresh();
    });
    stream.addEventListener("typing", function (event) {
      var who = "";
      try {
        who = JSON.parse(event.data).name || "";
      } catch (error) {}
      thinking.textContent = (who || "Someone") + " is typing…";
      thinking.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () {
        if (!thinkingSince) thinking.hidden = true;
      }, 5000);
    });
    stream.addEventListener("error", function () {
      // Closed by the server (503 beyond capacity) or cut: poll, ask for the gap, and try
      // the stream again later from the last seq seen.
      stream.close();
      stream = null;
      live = false;
      startPoll();
      gap();
      backoff = Math.min(60000, (backoff || 1500) * 2);
      setTimeout(connect, backoff);
    });
  }

  function startPoll() {
    if (live || pollTimer || !token || status === "closed") return;
    pollTimer = setInterval(function () {
      if (live || status === "closed") return stopPoll();
      if (d.visibilityState !== "hidden") gap();
    }, POLL);
  }

  function stopPoll() {
    clearInterval(pollTimer);
    pollTimer = 0;
  }

  function gap() {
    if (gapping || !token) return;
    gapping = true;
    request("/e/chat/messages?key=" + encodeURIComponent(key) + "&token=" + encodeURIComponent(token) + "&after=" + last).then(
      function (reply) {
        gapping = false;
        (reply.messages || []).forEach(add);
        setStatus(reply.status, reply.assignee, reply.last_seq);
        if (reply.messages && reply.messages.length && reply.messages[reply.messages.length - 1].author !== "visitor") {
          waiting = status === "bot" ? "input" : "";
        }
        refresh();
      },
      function () {
        gapping = false;
      }
    );
  }

  function catchUp() {
    if (token && started) gap();
  }

  d.addEventListener("visibilitychange", function () {
    if (d.visibilityState === "visible") catchUp();
  });
  w.addEventListener("focus", catchUp);
  w.addEventListener("online", catchUp);

  // --- offline email, the end: rating and transcript -----------------------------------------

  // A small form's submit: the body (or the message that stops it), the request, the
  // outcome in its status line.
  function formPost(formElement, result, path, body, thanks) {
    function say(ok, text) {
      result.className = ok ? "ok" : "err";
      result.textContent = text;
    }
    formElement.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = body();
      if (typeof data === "string") return say(false, data);
      request(path, data).then(
        function (reply) {
          say(true, thanks());
          if (reply && reply.messages) handle(reply);
        },
        function (failure) {
          say(false, failure.status === 429 ? "Please try again in a minute." : problem(failure));
        }
      );
    });
  }

  function offlineForm() {
    var box = node("form", "card");
    var id = "lf-off-" + uid();
    var input = node("input", "in", null, { id: id, type: "email", autocomplete: "email", required: "" });
    var result = node("p", "", null, { role: "status" });
    box.append(node("label", "", "Your email, and we'll reply there", { for: id }), input, node("button", "send", "Send", { type: "submit" }), result);
    formPost(box, result, "/e/chat/email", function () {
      return { token: token, email: input.value.trim() };
    }, function () {
      return "Thanks! We'll reply to " + input.value.trim() + ".";
    });
    return box;
  }

  function transcriptForm(container, disclosure) {
    var id = "lf-tr-" + (disclosure ? "m" : "e");
    var formElement = node("form");
    var input = node("input", "in", null, { id: id, type: "email", autocomplete: "email" });
    var result = node("p", "", null, { role: "status" });
    formElement.append(node("label", "", "Send the transcript to (email)", { for: id }), input, node("button", "send", "Send", { type: "submit" }), result);
    formPost(formElement, result, "/e/chat/transcript", function () {
      var body = { token: token };
      if (input.value.trim()) body.email = input.value.trim();
      return body;
    }, function () {
      return "The transcript is on its way.";
    });
    if (disclosure) container.append(node("summary", "", "Email me the transcript"));
    container.append(formElement);
  }

  function ended() {
    var hadFocus = root.activeElement === field;
    form.hidden = true;
    bar.hidden = true;
    stopPoll();
    if (stream) {
      stream.close();
      stream = null;
    }
    if (!end.hidden) return;
    end.textContent = "";
    var stars = node("fieldset", "stars");
    stars.append(node("legend", "", "How was this chat?"));
    var rating = 0;
    var comment = node("textarea", "in", null, { id: "lf-rate-c", rows: "2", maxlength: "1000" });
    var result = node("p", "", null, { role: "status" });
    for (var i = 1; i <= 5; i++) {
      (function (value) {
        stars.append(button(String(value), "b", function () {
          rating = value;
          [].forEach.call(stars.querySelectorAll("button"), function (b, index) {
            b.setAttribute("aria-pressed", String(index + 1 === value));
          });
        }, { "aria-label": value + " out of 5", "aria-pressed": "false" }));
      })(i);
    }
    var rate = node("form");
    rate.append(stars, node("label", "", "Anything to add? (optional)", { for: "lf-rate-c" }), comment, node("button", "send", "Send the rating", { type: "submit" }), result);
    formPost(rate, result, "/e/chat/rate", function () {
      if (!rating) return "Pick a rating from 1 to 5.";
      var body = { token: token, rating: rating };
      if (comment.value.trim()) body.comment = comment.value.trim();
      return body;
    }, function () {
      return "Thanks for rating the chat.";
    });
    end.append(rate, button("Start a new chat", "b", function () {
      token = "";
      store(TOKEN, null);
      started = false;
      seen = {};
      last = 0;
      status = "";
      statusSeq = 0;
      store(READ, String((readSeq = 0)));
      end.hidden = true;
      [].slice.call(log.querySelectorAll(".m")).forEach(function (element) {
        element.remove();
      });
      begin();
      focusInside();
    }));
    // On a page where no flow runs (the chat followed a person's conversation here) there is
    // nothing to start: the button shows on the pages the chat is for.
    end.lastChild.hidden = !config.flow;
    end.hidden = false;
    if (hadFocus) stars.querySelector("button").focus(); // the composer went away under it
  }

  // --- what the launcher asks ------------------------------------------------------------------

  C.ui = function (how) {
    if (how === "proactive") return showBubble();
    if (how === "background") return token && begin(); // closed, live: the count shows what comes
    if (how === "restore") return show(false);
    if (how === "toggle" && isOpen()) return close();
    show(true);
  };
  C.state = function () {
    return { token: token, status: status, last: last, live: live, polling: !!pollTimer };
  };
  var asked = C.q || [];
  C.q = [];
  // The styles load before the panel shows (no flash of an unstyled panel).
  style.addEventListener("load", run);
  style.addEventListener("error", run);
  var ran = false;
  function run() {
    if (ran) return;
    ran = true;
    asked.forEach(function (how) {
      C.ui(how);
    });
  }
})(window, document);
