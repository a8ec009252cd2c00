/* LeadFlow chat launcher (docs/chat/widget.md): the button and the proactive start; the chat
 * UI (chat-widget.js) loads on the first click, a proactive start or a reload while open. */
(function (w, d) {
  "use strict";
  var s = d.currentScript, L = {};
  try {
    L = localStorage;
  } catch (e) {} // blocked: no memory across pages, the chat still works
  if (w.leadflowChat || !s || !w.fetch) return;
  var u = new URL(s.src), key = s.getAttribute("data-key") || u.searchParams.get("k");
  var m = /^(.*?)\/static\/leadflow\//.exec(s.src);
  var C = (w.leadflowChat = { base: m ? m[1] : u.origin, key: key, open: open, q: [] });
  function open(how) {
    if (C.ui) return C.ui(how);
    if (C.q.push(how) < 2) d.head.appendChild(d.createElement("script")).src = C.base + C.config.script;
  }
  function arm(p) {
    var k = "lf_chat_p:" + C.config.flow, t, on = w.addEventListener.bind(w);
    if (!p || L["lf_chat_t:" + key] || Date.now() - (L[k] || 0) < p.once_per_days * 864e5) return;
    function fire() {
      clearTimeout(t);
      w.removeEventListener("scroll", scroll);
      d.removeEventListener("mouseout", exit);
      if (!C.fired++) open("proactive", (L[k] = Date.now()));
    }
    function scroll() {
      if ((w.scrollY + innerHeight) * 100 >= d.documentElement.scrollHeight * p.scroll_percent) fire();
    }
    function exit(e) {
      if (!e.relatedTarget && e.clientY <= 0) fire();
    }
    C.fired = 0;
    if (p.delay_seconds != null) t = setTimeout(fire, p.delay_seconds * 1000);
    if (p.scroll_percent) on("scroll", scroll);
    if (p.exit_intent) d.addEventListener("mouseout", exit);
  }
  fetch(C.base + "/e/chat/config?key=" + encodeURIComponent(key) + "&page_url=" + encodeURIComponent(location.href.split("#")[0]))
    .then(function (r) { return r.json(); })
    .then(function (c) {
      if (!c.flow) return;
      var l = c.launcher, h = d.createElement("div"), b = (C.button = d.createElement("button"));
      C.config = c;
      C.root = h.attachShadow({ mode: "open" });
      b.style.cssText = "position:fixed;bottom:20px;" + (l.position == "left" ? "left" : "right") + ":20px;z-index:2147483000;" +
        "border:0;border-radius:24px;padding:12px 18px;font:600 15px/1.2 system-ui,sans-serif;cursor:pointer;" +
        "box-shadow:0 4px 16px #0005;background:" + l.colour + ";color:" + l.text_colour;
      b.className = "l";
      b.textContent = l.label;
      b.setAttribute("aria-haspopup", "dialog");
      b.setAttribute("aria-expanded", "false");
      b.onclick = function () { open("toggle"); };
      C.root.append(b);
      d.body.append(h);
      L["lf_chat_o:" + key] ? open("restore") : arm(c.proactive);
    })
    .catch(function () {});
})(window, document);
