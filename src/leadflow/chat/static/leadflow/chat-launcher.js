/* LeadFlow chat launcher (docs/chat/widget.md): the button and the proactive start; the chat
 * UI (chat-widget.js) loads on the first click, a proactive start, a reload while open, or at
 * once (closed) while a person has the visitor's chat. A single-page app's new route (the
 * tracker's "leadflow:page" event) asks again what the chat is on that page. */
(function (w, d) {
  "use strict";
  var s = d.currentScript, L = {};
  try {
    L = localStorage;
  } catch (e) {} // blocked: no memory across pages, the chat still works
  if (w.leadflowChat || !s || !w.fetch) return;
  var u = new URL(s.src), key = s.getAttribute("data-key") || u.searchParams.get("k");
  var m = /^(.*?)\/static\/leadflow\//.exec(s.src), at, h, b;
  var C = (w.leadflowChat = { base: m ? m[1] : u.origin, key: key, open: open, q: [], off: function () {} });
  function open(how) {
    if (C.ui) return C.ui(how);
    if (C.q.push(how) < 2) d.head.appendChild(d.createElement("script")).src = C.base + C.config.script;
  }
  function arm(p) {
    var k = "lf_chat_p:" + C.config.flow, t, on = w.addEventListener.bind(w);
    if (!p || L["lf_chat_t:" + key] || Date.now() - (L[k] || 0) < p.once_per_days * 864e5) return;
    function fire() {
      C.off();
      if (!C.fired++) open("proactive", (L[k] = Date.now()));
    }
    function scroll() {
      if ((w.scrollY + innerHeight) * 100 >= d.documentElement.scrollHeight * p.scroll_percent) fire();
    }
    function exit(e) {
      if (!e.relatedTarget && e.clientY <= 0) fire();
    }
    C.fired = 0;
    C.off = function () {
      clearTimeout(t);
      w.removeEventListener("scroll", scroll);
      d.removeEventListener("mouseout", exit);
    };
    if (p.delay_seconds != null) t = setTimeout(fire, p.delay_seconds * 1000);
    if (p.scroll_percent) on("scroll", scroll);
    if (p.exit_intent) d.addEventListener("mouseout", exit);
  }
  function load() {
    var here = location.href.split("#")[0], live = L["lf_chat_l:" + key];
    if (here == at) return;
    at = here;
    fetch(C.base + "/e/chat/config?key=" + encodeURIComponent(key) + "&page_url=" + encodeURIComponent(here) + (live ? "&live=1" : ""))
      .then(function (r) { return r.json(); })
      .then(function (c) {
        if (here != at) return; // the app moved on meanwhile
        C.off();
        if (C.ui) return; // the chat is open on this page: it stays as it is
        if (!c.launcher) return h && (h.hidden = true);
        var l = c.launcher;
        C.config = c;
        if (!h) {
          h = d.createElement("div");
          b = C.button = d.createElement("button");
          C.root = h.attachShadow({ mode: "open" });
          b.className = "l";
          b.setAttribute("aria-haspopup", "dialog");
          b.setAttribute("aria-expanded", "false");
          b.onclick = function () { open("toggle"); };
          C.root.append(b);
          d.body.append(h);
        }
        h.hidden = false;
        b.style.cssText = "position:fixed;bottom:calc(20px + var(--lf-lift,0px));" + (l.position == "left" ? "left" : "right") + ":20px;z-index:2147483000;" +
          "border:0;border-radius:24px;padding:12px 18px;font:600 15px/1.2 system-ui,sans-serif;cursor:pointer;" +
          "box-shadow:0 4px 16px #0005;background:" + l.colour + ";color:" + l.text_colour;
        b.textContent = C.label = l.label;
        L["lf_chat_o:" + key] ? open("restore") : live ? open("background") : arm(c.proactive);
      })
      .catch(function () {});
  }
  load();
  w.addEventListener("leadflow:page", load);
})(window, document);
