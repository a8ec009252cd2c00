/* LeadFlow tracker (docs/tracking.md). Events are batched to POST /e and kept in localStorage
 * until the server has them; each has an id made here, so an event sent twice is stored once. */
(function (window, document) {
  "use strict";

  var stub = window.leadflow;
  if ((stub && stub.flush) || !window.fetch || !window.JSON) return; // loaded twice, or too old

  var VISIT_GAP = 30 * 60 * 1000;
  var VISITOR_SECONDS = 390 * 86400; // browsers keep a cookie 400 days at most
  var FLUSH_DELAY = 2000;
  var FLUSH_AT = 20;
  var BATCH = 50; // events per request (the server takes up to 100)
  var BODY_MAX = 30000; // keepalive requests may carry 64 KB in all
  var KEEP = 500; // unsent events kept at most
  var MAX_AGE = 7 * 86400000 - 3600000; // the server takes events of the last 7 days
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var CLICK_IDS = ["gclid", "fbclid", "msclkid", "li_fat_id"];
  var VISITOR = "lf_vid";
  var SESSION = "lf_ses";
  var QUEUE = "lf_q";
  var CONSENT = "lf_consent";

  var script = document.currentScript || document.querySelector("script[data-key][src*='/lf.js']");
  var key = script && script.getAttribute("data-key");
  if (!key) return warn("data-key (the workspace's public key) is missing.");
  var match = /^(.*?)\/static\/leadflow\//.exec(script.src);
  var base = (script.getAttribute("data-base") || (match ? match[1] : new URL(script.src).origin)).replace(/\/+$/, "");
  var endpoint = base + "/e";

  var config = null; // the workspace's settings, from GET /e/config
  var off = false; // for good: a privacy signal, an unknown key or a site not allowed
  var on = false; // storing and sending
  var consent = read(CONSENT) === "1" ? true : null;
  var pending = []; // what happened before tracking was on (kept in memory only)
  var memory = []; // the unsent events when localStorage is unavailable
  var storage = true;
  var sending = null; // the request under way
  var inflight = {}; // ids of events in that request
  var beaconed = {}; // ids handed to sendBeacon since the page was last visible
  var timer = 0;
  var backoff = 0;
  var visitor = "";
  var session = null; // {id, t: last event time, c: campaign of its landing page}
  var entry = campaign(); // where this page load came from
  entry.landing_page = cut(location.href, 2000);
  entry.referrer = cut(document.referrer, 2000);
  var first = true; // the next event is this page load's first
  var lastPage = null;
  var lastUrl = document.referrer;
  var domain = null;

  // --- small helpers ---

  function warn(message) {
    if (window.console) console.warn("LeadFlow tracker: " + message);
  }

  function uuid() {
    var crypto = window.crypto;
    if (crypto.randomUUID) return crypto.randomUUID(); // only on https pages
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (digit) {
      return (digit ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (digit / 4)))).toString(16);
    });
  }

  // At most `limit` code points (as the server counts): never half an emoji.
  function cut(value, limit) {
    var string = String(value == null ? "" : value);
    if (string.toWellFormed) string = string.toWellFormed(); // a lone half is refused
    return string.length > limit ? Array.from(string).slice(0, limit).join("") : string;
  }

  function text(value, limit) {
    return cut(String(value == null ? "" : value).replace(/\s+/g, " ").trim(), limit);
  }

  function hostOf(url) {
    try {
      return new URL(url).hostname.replace(/^www\./, "");
    } catch (error) {
      return "";
    }
  }

  function campaign() {
    var params = new URLSearchParams(location.search);
    var found = { utm: {}, click_ids: {} };
    UTM.concat(CLICK_IDS).forEach(function (name, index) {
      if (params.get(name)) found[index < 5 ? "utm" : "click_ids"][name] = cut(params.get(name), 200);
    });
    return found;
  }

  // --- first-party storage: a cookie on the site's domain, and localStorage ---------------

  function read(name) {
    var found = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    if (found) return decodeURIComponent(found[1]);
    try {
      return localStorage.getItem(name);
    } catch (error) {
      return null;
    }
  }

  function cookie(name, value, seconds, where) {
    document.cookie =
      name + "=" + encodeURIComponent(value) + "; path=/; max-age=" + seconds + "; SameSite=Lax" +
      (where ? "; domain=" + where : "") + (location.protocol === "https:" ? "; Secure" : "");
  }

  // The widest domain that takes a cookie (example.com, not co.uk): subdomains share it.
  function cookieDomain() {
    if (domain === null) {
      var parts = location.hostname.split(".");
      domain = "";
      for (var i = parts.length - 2; i > 0 && !/^[\d.]+$/.test(location.hostname); i--) {
        var candidate = parts.slice(i).join(".");
        cookie("lf_t", "1", 10, candidate);
        if (/(^|; )lf_t=1/.test(document.cookie)) {
          cookie("lf_t", "", 0, candidate);
          domain = candidate;
          break;
        }
      }
    }
    return domain;
  }

  function write(name, value, seconds) {
    cookie(name, value, seconds, cookieDomain());
    try {
      localStorage.setItem(name, value);
    } catch (error) {
    }
  }

  function wipe() {
    [VISITOR, SESSION, QUEUE, CONSENT].forEach(function (name) {
      cookie(name, "", 0, cookieDomain());
      cookie(name, "", 0);
      try {
        localStorage.removeItem(name);
      } catch (error) {}
    });
    pending = [];
    memory = [];
    visitor = "";
    session = null;
  }

  // The unsent events, shared by the site's tabs through localStorage.
  function queue(events) {
    if (events) {
      memory = events.slice(-KEEP);
      try {
        localStorage.setItem(QUEUE, JSON.stringify(memory));
        storage = true;
      } catch (error) {
        storage = false; // full or refused: memory only
      }
      return memory;
    }
    try {
      if (storage) memory = JSON.parse(localStorage.getItem(QUEUE)) || memory;
    } catch (error) {}
    var oldest = Date.now() - MAX_AGE;
    return memory.filter(function (event) {
      return event.ts > oldest;
    });
  }

  // --- visits ---

  // A visit ends after 30 minutes without events, or when a page is entered from elsewhere
  // with new campaign tags or click ids. Its origin goes with its first event.
  function visit(now) {
    var saved = session;
    try {
      saved = JSON.parse(read(SESSION)) || saved;
    } catch (error) {}
    var tags = JSON.stringify([entry.utm, entry.click_ids]);
    var tagged = first && tags.length > 7 && hostOf(document.referrer) !== hostOf(location.href);
    var context = null;
    if (!saved || !saved.id || now - saved.t > VISIT_GAP || (tagged && saved.c !== tags)) {
      context = first ? entry : campaign();
      if (!first) {
        context.landing_page = cut(location.href, 2000);
        context.referrer = "";
      }
      saved = { id: uuid(), c: first ? tags : "" };
    }
    first = false;
    saved.t = Math.max(saved.t || 0, now);
    session = saved;
    write(SESSION, JSON.stringify(saved), VISIT_GAP / 1000);
    return context;
  }

  // --- events ---

  function record(type, name, props, referrer, urgent) {
    if (off) return;
    var call = { type: type, name: name, props: props, url: location.href, referrer: referrer, ts: Date.now() };
    if (!on) {
      if (pending.length < 100) pending.push([call, urgent]);
      return;
    }
    add(call, urgent);
  }

  function add(call, urgent) {
    var context = visit(call.ts);
    var event = {
      id: uuid(),
      type: call.type,
      name: text(call.name, 200),
      url: cut(call.url, 2000),
      referrer: cut(call.referrer, 2000),
      ts: call.ts,
      props: call.props || {},
      visitor_id: visitor,
      session_id: session.id,
    };
    if (context) event.session = context;
    var events = queue();
    events.push(event);
    queue(events);
    if (urgent || events.length >= FLUSH_AT) flush();
    else schedule(FLUSH_DELAY);
  }

  function schedule(delay) {
    if (!timer) timer = setTimeout(flush, delay);
  }

  // Sends what is waiting, one request at a time; a beacon when the page goes away.
  function flush(unloading) {
    clearTimeout(timer);
    timer = 0;
    if (!on) return Promise.resolve();
    if (sending && !unloading) {
      return sending.then(function () {
        return flush();
      });
    }
    var batch = queue()
      .filter(function (event) {
        return !inflight[event.id] && !beaconed[event.id];
      })
      .slice(0, BATCH);
    var body;
    while (batch.length) {
      body = JSON.stringify({ key: key, visitor_id: visitor, session_id: (session || {}).id, events: batch });
      if (body.length < BODY_MAX || batch.length === 1) break;
      batch = batch.slice(0, batch.length >> 1);
    }
    if (!batch.length) return Promise.resolve();
    if (unloading) {
      // No answer comes: the events stay stored, the next page sends them again.
      if (navigator.onLine !== false && navigator.sendBeacon) {
        if (navigator.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }))) mark(beaconed, batch, 1);
      }
      return Promise.resolve();
    }
    mark(inflight, batch, 1);
    // text/plain: a simple request (no preflight); the server reads JSON anyway.
    sending = fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "omit", mode: "cors" })
      .then(function (response) {
        var status = response.status;
        if (status === 429 || status >= 500) throw parseFloat(response.headers.get("Retry-After")) || 0;
        // Stored (202; bad events named in its errors) or refused for good (4xx): not sent again.
        var ids = {};
        mark(ids, batch, 1);
        queue(
          queue().filter(function (event) {
            return !ids[event.id];
          })
        );
        if (status === 403 || status === 404) stop("the server refused the events (" + status + ").");
        backoff = 0;
        return true;
      })
      .catch(function (retryAfter) {
        backoff = Math.min(60000, backoff ? backoff * 2 : FLUSH_DELAY);
        schedule(Math.max(backoff, (+retryAfter || 0) * 1000));
        return false;
      })
      .then(function (sent) {
        mark(inflight, batch, 0);
        sending = null;
        if (sent && queue().length) return flush();
      });
    return sending;
  }

  function mark(ids, events, value) {
    events.forEach(function (event) {
      ids[event.id] = value;
    });
  }

  // --- switching on and off ---

  function privacySignal() {
    var dnt = navigator.doNotTrack || window.doNotTrack || navigator.msDoNotTrack;
    return navigator.globalPrivacyControl === true || dnt === "1" || dnt === "yes";
  }

  function stop(reason) {
    off = true;
    on = false;
    pending = [];
    warn(reason);
  }

  function decide() {
    if (off || !config) return;
    if (config.respect_privacy_signals && privacySignal()) {
      off = true; // nothing stored, nothing sent
      pending = [];
      return;
    }
    if (consent === false || (config.tracking_requires_consent && !consent)) {
      on = false;
      return;
    }
    if (on) return;
    on = true;
    visitor = read(VISITOR) || visitor;
    if (!/^[\w-]{8,64}$/.test(visitor)) visitor = uuid();
    write(VISITOR, visitor, VISITOR_SECONDS);
    var calls = pending;
    pending = [];
    calls.forEach(function (call) {
      add(call[0], call[1]);
    });
    if (queue().length) schedule(calls.length ? FLUSH_DELAY : 0);
  }

  function loadConfig(delay) {
    fetch(base + "/e/config?key=" + encodeURIComponent(key), { credentials: "omit", mode: "cors" })
      .then(function (response) {
        if (response.status === 403 || response.status === 404) {
          return stop("this site may not use the key " + key + " (" + response.status + ").");
        }
        if (!response.ok) throw response.status;
        return response.json().then(function (settings) {
          config = settings;
          decide();
          (settings.scripts || []).forEach(function (src) {
            document.head.appendChild(document.createElement("script")).src = base + src;
          });
        });
      })
      .catch(function () {
        setTimeout(loadConfig, delay, Math.min(60000, delay * 2));
      });
  }

  // --- what the page does ---

  function pageview() {
    // Hash routes (#/pricing, #!/pricing) are pages; other anchors are not.
    var page = location.pathname + location.search + (/^#[!/]/.test(location.hash) ? location.hash : "");
    if (page === lastPage) return;
    var referrer = lastUrl;
    lastPage = page;
    lastUrl = location.href;
    record("pageview", document.title, {}, referrer);
    window.dispatchEvent(new Event("leadflow:page"));
  }

  function routeChanged() {
    setTimeout(pageview, 50); // single-page apps set the title just after the route
  }

  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      routeChanged();
      return result;
    };
  });
  window.addEventListener("popstate", routeChanged);
  window.addEventListener("hashchange", routeChanged);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      lastPage = null; // back from the back-forward cache: a new page view
      pageview();
    }
  });

  document.addEventListener(
    "click",
    function (event) {
      var target = event.target;
      if (!target || !target.closest) return;
      var marked = target.closest("[data-lf-track]");
      var link = target.closest("a[href]");
      var outbound = link && /^https?:$/.test(link.protocol) && hostOf(link.href) !== hostOf(location.href);
      var props = link ? { href: cut(link.href, 1000) } : {};
      if (marked) {
        props.text = text(marked.textContent || marked.value, 100);
        record("click", marked.getAttribute("data-lf-track"), props, "", !!link);
      }
      // Leaving the page: sent at once, with keepalive so it outlives the page.
      if (outbound) record("outbound", link.hostname, { href: props.href, text: text(link.textContent, 100) }, "", true);
    },
    true
  );

  // Form views: LeadFlow's script embed says "leadflow:ready"; iframes are found by their src.
  var seen = new WeakSet();
  function formView(node, form, embed) {
    if (!form || seen.has(node)) return;
    seen.add(node);
    record("form_view", form, { embed: embed });
  }
  document.addEventListener("leadflow:ready", function (event) {
    formView(event.target, event.detail && event.detail.form, "script");
  });
  var scanning = 0;
  function scanForms() {
    scanning = 0;
    var nodes = document.querySelectorAll(".lf-embed[data-lf-form]:not([aria-busy]), iframe[src*='/f/']");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.tagName !== "IFRAME") formView(node, node.getAttribute("data-lf-form"), "script");
      else if (node.src.indexOf(base + "/f/") === 0) {
        formView(node, decodeURIComponent(node.src.slice(base.length + 3).split(/[/?#]/)[0]), "iframe");
      }
    }
  }
  if (window.MutationObserver) {
    new MutationObserver(function () {
      scanning = scanning || setTimeout(scanForms, 300);
    }).observe(document.documentElement, { childList: true, subtree: true });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
    else {
      beaconed = {};
      schedule(FLUSH_DELAY);
    }
  });
  window.addEventListener("pagehide", function () {
    flush(true);
  });
  window.addEventListener("online", function () {
    flush();
  });

  // --- the public API ---

  var api = {
    track: function (name, props) {
      record("custom", name, props && typeof props === "object" ? props : {}, "");
    },
    identify: function (traits) {
      if (traits && traits.email) record("identify", "", traits, "", true);
      else warn("identify needs an email.");
    },
    consent: function (given) {
      consent = !!given;
      if (consent) {
        if (!off) write(CONSENT, "1", VISITOR_SECONDS);
      } else {
        on = false;
        wipe();
      }
      decide();
    },
    flush: function () {
      return flush();
    },
  };
  Object.defineProperty(api, "visitorId", {
    get: function () {
      return on ? visitor : "";
    },
  });
  Object.defineProperty(api, "sessionId", {
    get: function () {
      return on && session ? session.id : "";
    },
  });
  window.leadflow = api;

  // A tracked link (in an email) names its reader with a signed token: lf_c.
  var link = new URLSearchParams(location.search).get("lf_c");
  if (link) record("identify", "", { token: cut(link, 500) }, "", true);
  pageview();
  scanForms();
  // Calls made before the script loaded: leadflow.push(["track", name, props]) or the stub.
  [].slice.call((stub && (stub.q || stub)) || []).forEach(function (call) {
    call = [].slice.call(call);
    if (api[call[0]]) api[call[0]].apply(api, call.slice(1));
  });
  loadConfig(1000);
})(window, document);
