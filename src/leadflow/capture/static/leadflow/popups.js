/* LeadFlow pop-ups (docs/capture/popups.md). The tracker (lf.js) loads this file only while
 * the workspace has an active pop-up. One configuration request per page (the same address
 * for a whole visit, so the browser's cache answers the next pages), then each pop-up the
 * page qualifies for waits for its first trigger; one pop-up at most per page view. A
 * single-page app's new route (the tracker's "leadflow:page" event) is a new page view: the
 * triggers are disarmed and those of the pop-ups that qualify there armed afresh. */
(function (window, document) {
  "use strict";

  var script = document.currentScript;
  if (window.leadflowPopups || !script || !window.fetch || !window.URLSearchParams) return;

  var src = new URL(script.src);
  var key = src.searchParams.get("k");
  var match = /^(.*?)\/static\/leadflow\//.exec(script.src);
  var base = match ? match[1] : src.origin;
  var STATE = "lf_pop"; // localStorage: {v: first visit, s/c/k: {id: when last shown/closed/converted}}
  var VISIT = "lf_popv"; // a session cookie: this visit's id, where it came from, what it showed
  var DAY = 86400000;
  var CLICK_IDS = ["gclid", "fbclid", "msclkid", "li_fat_id"];
  var IDLE_EVENTS = ["mousemove", "keydown", "scroll", "touchstart", "click"];
  var FOCUSABLE = "a[href],button:not([disabled]),input:not([disabled]):not([type=hidden])," +
    "select:not([disabled]),textarea:not([disabled]),[tabindex]:not([tabindex='-1'])";
  // Zero specificity (:where) and custom properties, as in form.js: the site's rules win.
  var CSS =
    ":where(.lf-pop){box-sizing:border-box;border:0;padding:1.25rem 1.5rem;color:var(--lf-pop-fg,#111827);" +
    "background:var(--lf-pop-bg,#fff);border-radius:var(--lf-radius,12px);box-shadow:0 10px 40px rgba(0,0,0,.25);" +
    "max-width:min(32rem,calc(100vw - 2rem));max-height:calc(100vh - 2rem);overflow:auto;font:inherit}" +
    ":where(.lf-pop-modal)::backdrop{background:rgba(17,24,39,.55)}" +
    ":where(.lf-pop-slide_in){position:fixed;inset:auto 1rem 1rem auto;margin:0;width:22rem;z-index:2147483000}" +
    ":where(.lf-pop-top_bar,.lf-pop-bottom_bar){position:fixed;left:0;right:0;margin:0;width:100%;max-width:none;" +
    "border-radius:0;padding:.6rem 3rem .6rem 1rem;z-index:2147483000}" +
    ":where(.lf-pop-top_bar){top:0;bottom:auto}:where(.lf-pop-bottom_bar){bottom:0;top:auto}" +
    ":where(.lf-pop-close){position:absolute;top:.4rem;right:.4rem;border:0;background:none;color:inherit;" +
    "font-size:1.5rem;line-height:1;padding:.3rem .6rem;cursor:pointer}" +
    ":where(.lf-pop-title){margin:0 1.5rem .4rem 0;font-size:1.2rem;line-height:1.3}" +
    ":where(.lf-pop-bar .lf-pop-title){font-size:1rem;margin:0}:where(.lf-pop-body){margin:0 0 .75rem}" +
    ":where(.lf-pop-bar .lf-pop-body){margin:.2rem 0 0;font-size:.9rem}" +
    ":where(.lf-pop-link,.lf-pop-open){display:inline-block;background:var(--lf-accent,#4f46e5);color:#fff;" +
    "border:0;border-radius:var(--lf-radius,8px);padding:.5rem 1rem;font:inherit;font-weight:600;" +
    "text-decoration:none;cursor:pointer;margin-top:.4rem}";

  // What happened on this page (tests and site scripts may read it): the route judged last,
  // the pop-ups armed there and those shown.
  window.leadflowPopups = { route: null, armed: null, shown: [] };

  // --- what this browser remembers ---------------------------------------------------------

  function readJson(text) {
    try {
      return JSON.parse(text) || null;
    } catch (error) {
      return null;
    }
  }

  var state = null;
  try {
    state = readJson(localStorage.getItem(STATE));
  } catch (error) {}
  state = state || {};
  ["s", "c", "k"].forEach(function (name) {
    state[name] = state[name] || {};
  });

  function save() {
    try {
      localStorage.setItem(STATE, JSON.stringify(state));
    } catch (error) {}
  }

  var found = document.cookie.match(new RegExp("(?:^|; )" + VISIT + "=([^;]*)"));
  var visit = null;
  try {
    visit = found && readJson(decodeURIComponent(found[1]));
  } catch (error) {} // a cookie someone else wrote badly: a new visit
  if (!visit || !visit.id) {
    var params = new URLSearchParams(location.search);
    var referrer = document.referrer;
    try {
      if (new URL(referrer).host === location.host) referrer = "";
    } catch (error) {
      referrer = "";
    }
    visit = {
      id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8),
      us: params.get("utm_source") || "",
      um: params.get("utm_medium") || "",
      uc: params.get("utm_campaign") || "",
      ck: CLICK_IDS.filter(function (name) {
        return params.get(name);
      }).join(","),
      r: referrer.slice(0, 500),
      n: [], // the pop-ups shown in this visit
    };
  }
  if (!state.v) state.v = visit.id; // this browser's first visit
  var returning = state.v !== visit.id;

  function saveVisit() {
    document.cookie = VISIT + "=" + encodeURIComponent(JSON.stringify(visit)) + "; path=/; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  saveVisit();
  save();

  // --- the page's own rules -------------------------------------------------------------------

  function device() {
    var width = window.innerWidth;
    var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    return width < 640 ? "mobile" : coarse && width < 1100 ? "tablet" : "desktop";
  }

  // "*" is any run of characters, case ignored; on a mismatch the last "*" takes one more
  // character (never a pattern engine, so no pattern can make a page slow).
  function glob(pattern, text) {
    pattern = pattern.toLowerCase();
    text = text.toLowerCase();
    var p = 0, t = 0, star = -1, mark = 0;
    while (t < text.length) {
      if (p < pattern.length && pattern[p] !== "*" && pattern[p] === text[t]) {
        p++;
        t++;
      } else if (p < pattern.length && pattern[p] === "*") {
        star = p++;
        mark = t;
      } else if (star >= 0) {
        p = star + 1;
        t = ++mark;
      } else return false;
    }
    while (pattern[p] === "*") p++;
    return p === pattern.length;
  }

  // A pattern starting with "/" is matched with the path and query, any other with the
  // whole address (https://www.example.com/pricing?plan=pro).
  function route() {
    // Hash routes (#/pricing, #!/pricing) are part of the page, as the tracker counts them.
    return location.pathname + location.search + (/^#[!/]/.test(location.hash) ? location.hash : "");
  }

  function onPage(pattern) {
    var path = route();
    return glob(pattern, pattern.charAt(0) === "/" ? path : location.origin + path);
  }

  function qualifies(popup, kind) {
    var often = popup.frequency || {};
    var now = Date.now();
    var id = popup.id;
    if (popup.include.length && !popup.include.some(onPage)) return false;
    if (popup.exclude.some(onPage)) return false;
    if (popup.devices.indexOf(kind) < 0) return false;
    if (popup.visitors === "new" ? returning : popup.visitors === "returning" && !returning) return false;
    if (often.stop_after_convert && state.k[id]) return false;
    if (often.closed_days && state.c[id] && now - state.c[id] < often.closed_days * DAY) return false;
    if (often.every_days && state.s[id] && now - state.s[id] < often.every_days * DAY) return false;
    return !(often.once_per_session && visit.n.indexOf(id) >= 0);
  }

  // --- counting ---------------------------------------------------------------------------------

  function count(popup, type) {
    var body = JSON.stringify({ key: key, popup: popup.id, type: type });
    // text/plain keeps it a simple request (no preflight); keepalive outlives a closing page.
    fetch(base + "/e/popups/event", { method: "POST", body: body, keepalive: true, credentials: "omit", mode: "cors" })
      .catch(function () {}); // a count lost to the network is not worth a retry
  }

  // --- showing -------------------------------------------------------------------------------

  var current = null; // the pop-up on screen
  var shownHere = false; // one pop-up at most per page view (a route of a single-page app)

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    for (var name in attributes || {}) node.setAttribute(name, attributes[name]);
    (children || []).forEach(function (child) {
      if (child != null) node.appendChild(child.nodeType ? child : document.createTextNode(child));
    });
    return node;
  }

  function mountForm(popup, holder) {
    var id = "lf-pop-form-" + popup.id;
    holder.appendChild(el("div", { id: id, class: "lf-pop-form" }));
    var tag = el("script", { src: base + "/static/leadflow/form.js", "data-form": popup.form, "data-target": "#" + id, async: "" });
    if (script.nonce) tag.nonce = script.nonce;
    holder.appendChild(tag);
  }

  // What else sits fixed at the bottom of the page (the chat's button and panel) moves up
  // above a bar or slide-in while it shows: they read --lf-lift (docs/capture/popups.md).
  function lift(dialog) {
    var root = document.documentElement.style;
    if (dialog) root.setProperty("--lf-lift", dialog.offsetHeight + 12 + "px");
    else root.removeProperty("--lf-lift");
  }

  function show(popup, kind) {
    // Phones get a small dismissible banner, never a full-screen interstitial, unless asked.
    var style = kind === "mobile" && !popup.mobile_full ? "bottom_bar" : popup.style;
    var modal = style === "modal";
    var bar = /_bar$/.test(style);
    var titleId = "lf-pop-title-" + popup.id;
    var dialog = el("dialog", {
      class: "lf-pop lf-pop-" + style + (bar ? " lf-pop-bar" : ""),
      "aria-labelledby": titleId,
      "data-lf-popup": String(popup.id),
    });
    var closer = el("button", { type: "button", class: "lf-pop-close", "aria-label": "Close" }, ["\u00d7"]);
    dialog.appendChild(closer);
    dialog.appendChild(el("h2", { id: titleId, class: "lf-pop-title" }, [popup.title]));
    if (popup.body) dialog.appendChild(el("p", { class: "lf-pop-body" }, [popup.body]));
    if (popup.content === "link") {
      var link = el("a", { class: "lf-pop-link", href: popup.link_url }, [popup.link_label]);
      link.addEventListener("click", function () {
        converted();
      });
      dialog.appendChild(link);
    } else if (popup.content === "form") {
      if (bar && kind === "mobile" && !popup.mobile_full) {
        // The banner stays small until the visitor asks for the form.
        var open = el("button", { type: "button", class: "lf-pop-open" }, [popup.link_label || "Open the form"]);
        open.addEventListener("click", function () {
          open.remove();
          mountForm(popup, dialog);
        });
        dialog.appendChild(open);
      } else mountForm(popup, dialog);
    }
    if (!document.getElementById("lf-pop-style")) {
      var css = el("style", { id: "lf-pop-style" }, [CSS]);
      if (script.nonce) css.nonce = script.nonce;
      (document.head || document.documentElement).appendChild(css);
    }

    var opener = document.activeElement;
    var done = false;
    function converted() {
      if (state.k[popup.id]) return;
      state.k[popup.id] = Date.now();
      save();
      count(popup, "conversion");
    }
    function close() {
      if (done) return;
      done = true;
      state.c[popup.id] = Date.now();
      save();
      count(popup, "close");
      var inside = dialog.contains(document.activeElement);
      if (dialog.open) dialog.close();
      dialog.remove();
      lift(null);
      current = null;
      // Focus goes back where it was (the modal always took it; a bar only if it had it).
      if ((modal || inside) && opener && opener.focus) opener.focus();
    }
    closer.addEventListener("click", close);
    dialog.addEventListener("leadflow:submitted", converted);
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault(); // Escape on a modal: closed (and counted) here
      close();
    });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      } else if (event.key === "Tab" && modal) {
        // Tab and Shift+Tab go round inside the modal, never out to the page or the browser.
        var items = [].filter.call(dialog.querySelectorAll(FOCUSABLE), function (item) {
          return item.offsetWidth || item.offsetHeight;
        });
        var first = items[0];
        var last = items[items.length - 1];
        if (!first) return;
        if (event.shiftKey ? document.activeElement === first : document.activeElement === last) {
          event.preventDefault();
          (event.shiftKey ? last : first).focus();
        }
      }
    });

    document.body.appendChild(dialog);
    if (modal) dialog.showModal();
    else dialog.setAttribute("open", ""); // not modal: the page stays usable, focus stays put
    if (style === "bottom_bar" || style === "slide_in") lift(dialog);
    current = dialog;
    shownHere = true;
    state.s[popup.id] = Date.now();
    visit.n.push(popup.id);
    save();
    saveVisit();
    window.leadflowPopups.shown.push(popup.id);
    count(popup, "view");
  }

  // --- triggers ------------------------------------------------------------------------------

  function arm(popup, kind) {
    var triggers = popup.triggers || {};
    var undo = [];
    var fired = false;
    function listen(target, type, handler, options) {
      target.addEventListener(type, handler, options);
      undo.push(function () {
        target.removeEventListener(type, handler, options);
      });
    }
    function fire() {
      if (fired || current || shownHere || !qualifies(popup, kind)) return;
      fired = true;
      undo.forEach(function (step) {
        step();
      });
      show(popup, kind);
    }
    disarm.push(function () {
      fired = true;
      undo.forEach(function (step) {
        step();
      });
    });
    function wait(seconds) {
      var timer = setTimeout(fire, seconds * 1000);
      undo.push(function () {
        clearTimeout(timer);
      });
      return timer;
    }
    if (triggers.time_seconds != null) wait(triggers.time_seconds);
    if (triggers.scroll_percent) {
      listen(window, "scroll", function () {
        var height = document.documentElement.scrollHeight;
        if (((window.scrollY + window.innerHeight) / height) * 100 >= triggers.scroll_percent) fire();
      }, { passive: true });
    }
    // Exit intent: the pointer leaves through the top of the window (towards the tabs or
    // the back button). Desktop only; the back button itself is never touched.
    if (triggers.exit_intent && kind === "desktop") {
      listen(document, "mouseout", function (event) {
        if (!event.relatedTarget && event.clientY <= 0) fire();
      });
    }
    if (triggers.inactivity_seconds) {
      var idle = wait(triggers.inactivity_seconds);
      var restart = function () {
        clearTimeout(idle);
        idle = setTimeout(fire, triggers.inactivity_seconds * 1000);
      };
      IDLE_EVENTS.forEach(function (type) {
        listen(window, type, restart, { passive: true, capture: true });
      });
      undo.push(function () {
        clearTimeout(idle);
      });
    }
    if (triggers.click_selector) {
      listen(document, "click", function (event) {
        try {
          if (event.target.closest && event.target.closest(triggers.click_selector)) fire();
        } catch (error) {} // a selector this browser cannot read never fires
      }, true);
    }
  }

  // --- start, and each new route ---------------------------------------------------------

  var config = null; // the answer for this visit, kept for the next routes
  var asked = null; // the visitor id it was asked with
  var disarm = []; // undoes the armed triggers of the current route

  // Judges the current route: the old triggers go, those of the pop-ups that qualify here
  // are armed afresh (time on page and scroll depth count from now).
  function judge() {
    disarm.splice(0).forEach(function (step) {
      step();
    });
    shownHere = !!current; // a pop-up still open counts for the new route
    var kind = device();
    var armed = (config.popups || []).filter(function (popup) {
      return qualifies(popup, kind);
    });
    armed.forEach(function (popup) {
      arm(popup, kind);
    });
    window.leadflowPopups.route = route();
    window.leadflowPopups.armed = armed.map(function (popup) {
      return popup.id;
    });
  }

  // One request per visit and visitor: a route asks again only when the tracker's visitor id
  // changed (consent given on the way), since contact conditions depend on it. A route that
  // comes while the answer is on its way is judged when it arrives.
  function load() {
    var visitor = (window.leadflow && window.leadflow.visitorId) || "";
    if (visitor === asked) {
      if (config) judge();
      return;
    }
    asked = visitor;
    var query = new URLSearchParams({
      key: key || "",
      v: visitor,
      us: visit.us,
      um: visit.um,
      uc: visit.uc,
      ck: visit.ck,
      r: visit.r,
      s: location.origin,
    });
    fetch(base + "/e/popups?" + query, { credentials: "omit", mode: "cors" })
      .then(function (response) {
        return response.ok ? response.json() : { popups: [] };
      })
      .then(function (answer) {
        if (visitor !== asked) return; // a newer request is under way
        config = answer;
        judge();
      })
      .catch(function () {
        if (visitor === asked) asked = null; // no pop-ups here; the next route asks again
      });
  }

  // The tracker notices a single-page app's routes (it wraps pushState and replaceState and
  // hears popstate and hashchange) and says so once per new page; nothing is wrapped twice.
  window.addEventListener("leadflow:page", load);
  load();
})(window, document);
