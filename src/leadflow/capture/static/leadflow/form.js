/* LeadFlow form embed (docs/embedding.md):
 *   <script src="https://LEADFLOW/static/leadflow/form.js" data-form="FORM_KEY" async></script>
 * renders the form after its tag, checks answers with the server's rules and sends them as
 * JSON with fetch: no cookies, retried with the same submission_id if the network fails. */
(function () {
  "use strict";

  var UTM_KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var RETRY_DELAYS = [1000, 2000, 4000, 8000]; // after these, the person may press the button again
  var TOKEN_MAX_AGE = 20 * 3600 * 1000; // the server accepts a time token for 24 hours
  var AUTOCOMPLETE = {
    email: "email",
    phone: "tel",
    first_name: "given-name",
    last_name: "family-name",
    company: "organization",
    job_title: "organization-title",
    country: "country-name",
  };
  var EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
  // Zero specificity (:where) and CSS custom properties: any rule of the site wins.
  var CSS =
    ":where(.lf-embed){max-width:34rem}:where(.lf-field){margin:0 0 1rem}" +
    ":where(.lf-label,.lf-legend){display:block;font-weight:600;margin:0 0 .3rem;padding:0}" +
    ":where(.lf-fieldset){border:0;margin:0;padding:0;min-width:0}" +
    ":where(.lf-choice){display:flex;gap:.5rem;align-items:baseline;margin:.2rem 0}" +
    ":where(.lf-input){box-sizing:border-box;width:100%;padding:.55rem .7rem;font:inherit;" +
    "border:1px solid var(--lf-border,#d1d5db);border-radius:var(--lf-radius,8px)}" +
    ":where(.lf-help){color:var(--lf-muted,#6b7280);font-size:.875em;margin:.25rem 0 0}" +
    ":where(.lf-error,.lf-alert){color:var(--lf-error,#b91c1c);font-size:.875em;margin:.25rem 0}" +
    ":where(.lf-error,.lf-alert):empty{display:none}" +
    ":where(.lf-invalid .lf-input){border-color:var(--lf-error,#b91c1c)}" +
    ":where(.lf-submit){background:var(--lf-accent,#4f46e5);color:#fff;border:0;padding:.65rem 1.2rem;" +
    "border-radius:var(--lf-radius,8px);font:inherit;font-weight:600;cursor:pointer}" +
    ":where(.lf-submit:disabled){opacity:.6}:where(.lf-success){padding:1rem;white-space:pre-line;" +
    "border-radius:var(--lf-radius,8px);background:var(--lf-success-bg,#ecfdf5)}" +
    ":where(.lf-success p){margin:0 0 .5rem}:where(.lf-magnet-code){font-family:monospace}";
  var counter = 0;

  // --- small helpers -------------------------------------------------------------------

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    for (var name in attributes || {}) {
      if (attributes[name] != null) node.setAttribute(name, attributes[name]);
    }
    (children || []).forEach(function (child) {
      if (child != null) node.appendChild(child.nodeType ? child : document.createTextNode(child));
    });
    return node;
  }

  // The lead magnet the submission earned (the answer's "magnet"): its personal link, the
  // code or seat, or a note that it comes after the double opt-in confirmation.
  function magnetOffer(magnet) {
    if (!magnet) return null;
    if (magnet.pending_confirmation) {
      return el("p", { class: "lf-magnet" }, [
        "Please confirm your address with the link we have emailed you: " +
          magnet.name + " comes right after.",
      ]);
    }
    var label = (magnet.kind === "file" ? "Download " : "Open ") + magnet.name;
    return el("div", { class: "lf-magnet" }, [
      el("p", {}, [el("a", { href: magnet.url, class: "lf-magnet-link" }, [label])]),
      magnet.code ? el("p", {}, ["Your code: ", el("strong", { class: "lf-magnet-code" }, [magnet.code])]) : null,
      magnet.seat ? el("p", {}, [magnet.seat === "seated" ? "Your seat is booked." : "The event is full: you are on the waiting list."]) : null,
      el("p", {}, ["We have emailed you the link too."]),
    ]);
  }

  function emit(root, name, detail) {
    var event;
    try {
      event = new CustomEvent("leadflow:" + name, { bubbles: true, detail: detail });
    } catch (error) {
      return;
    }
    root.dispatchEvent(event);
  }

  function uuid() {
    var crypto = window.crypto;
    if (crypto.randomUUID) return crypto.randomUUID(); // only on https pages
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (digit) {
      return (digit ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (digit / 4)))).toString(16);
    });
  }

  // Python's "{:g}" for the numbers in messages, so they read like the server's.
  function g(number) {
    var scientific = number.toExponential(5);
    var exponent = +scientific.split("e")[1];
    if (exponent < -4 || exponent >= 6) {
      return scientific.replace(/\.?0+e/, "e").replace(/e([+-])(\d)$/, "e$10$2");
    }
    return String(Number(number.toPrecision(6)));
  }

  // --- talking to LeadFlow -------------------------------------------------------------

  // Resolves {status, body, retryAfter}; rejects only when the network failed.
  function request(url, options) {
    options = options || {};
    return fetch(url, {
      method: options.method || "GET",
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      headers: options.body ? { "Content-Type": "application/json" } : {},
      body: options.body,
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          return {
            status: response.status,
            body: body || {},
            retryAfter: parseFloat(response.headers.get("Retry-After")) || 0,
          };
        });
    });
  }

  // Network failures, 5xx and 429 are tried again with backoff (honouring Retry-After).
  function withRetries(send) {
    var attempt = 0;
    return new Promise(function (resolve, reject) {
      function again(retryAfter, failure) {
        if (attempt >= RETRY_DELAYS.length) return failure();
        var wait = Math.max(RETRY_DELAYS[attempt++], Math.min(retryAfter, 60) * 1000);
        setTimeout(go, wait);
      }
      function go() {
        send().then(
          function (answer) {
            if (answer.status >= 500 || answer.status === 429) {
              again(answer.retryAfter, function () {
                resolve(answer);
              });
            } else resolve(answer);
          },
          function (error) {
            again(0, function () {
              reject(error);
            });
          }
        );
      }
      go();
    });
  }

  // --- proof of work: sha256(challenge + ":" + nonce) starts with `bits` zero bits --------

  function hasZeroBits(bytes, bits) {
    for (var i = 0; bits > 0; i++, bits -= 8) {
      if (bytes[i] & (bits >= 8 ? 255 : (65280 >> bits) & 255)) return false;
    }
    return true;
  }

  function solve(challenge, bits) {
    var encoder = new TextEncoder();
    var subtle = window.crypto && window.crypto.subtle; // missing on plain-http pages
    var nonce = 0;
    return new Promise(function (resolve) {
      (function batch() {
        var start = nonce;
        var tries = [];
        for (var i = 0; i < 256; i++) {
          var bytes = encoder.encode(challenge + ":" + (start + i));
          tries.push(subtle ? subtle.digest("SHA-256", bytes) : sha256(bytes));
        }
        nonce += 256;
        Promise.all(tries).then(function (digests) {
          for (var i = 0; i < digests.length; i++) {
            if (hasZeroBits(new Uint8Array(digests[i]), bits)) return resolve(String(start + i));
          }
          setTimeout(batch, 0); // let the page breathe between batches
        });
      })();
    });
  }

  var ROUND = [];
  var INITIAL = [];
  function ror(x, n) {
    return (x >>> n) | (x << (32 - n));
  }
  // SHA-256 in plain JS, for pages without crypto.subtle (it exists only on https).
  function sha256(bytes) {
    var i, j;
    if (!ROUND.length) {
      for (var candidate = 2, found = 0; found < 64; candidate++) {
        for (j = 2; j * j <= candidate && candidate % j; j++);
        if (j * j > candidate) {
          INITIAL[found] = (Math.pow(candidate, 1 / 2) * 4294967296) | 0;
          ROUND[found++] = (Math.pow(candidate, 1 / 3) * 4294967296) | 0;
        }
      }
    }
    var length = bytes.length;
    var words = new Array((((length + 8) >> 6) + 1) * 16).fill(0);
    for (i = 0; i < length; i++) words[i >> 2] |= bytes[i] << (24 - (i % 4) * 8);
    words[length >> 2] |= 128 << (24 - (length % 4) * 8);
    words[words.length - 1] = length * 8;
    var hash = INITIAL.slice(0, 8);
    var w = [];
    for (j = 0; j < words.length; j += 16) {
      var h = hash.slice();
      for (i = 0; i < 64; i++) {
        if (i < 16) w[i] = words[j + i];
        else {
          var x = w[i - 15];
          var y = w[i - 2];
          w[i] =
            (w[i - 16] +
              (ror(x, 7) ^ ror(x, 18) ^ (x >>> 3)) +
              w[i - 7] +
              (ror(y, 17) ^ ror(y, 19) ^ (y >>> 10))) |
            0;
        }
        var e = h[4];
        var a = h[0];
        var t1 =
          (h[7] + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & h[5]) ^ (~e & h[6])) + ROUND[i] + w[i]) | 0;
        var t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & h[1]) ^ (a & h[2]) ^ (h[1] & h[2]))) | 0;
        h = [(t1 + t2) | 0, a, h[1], h[2], (h[3] + t1) | 0, e, h[5], h[6]];
      }
      for (i = 0; i < 8; i++) hash[i] = (hash[i] + h[i]) | 0;
    }
    var out = new Uint8Array(32);
    for (i = 0; i < 32; i++) out[i] = hash[i >> 2] >>> (24 - (i % 4) * 8);
    return out;
  }

  // --- the same rules as capture/fields.py (the server stays the authority) --------------

  function check(field, value) {
    var type = field.type;
    if (value === "" || value === false || (Array.isArray(value) && !value.length)) {
      if (!field.required) return "";
      return type === "consent" ? "Please tick this box to continue." : "This field is required.";
    }
    var options = field.options || [];
    if (type === "checkboxes") {
      return value.every(function (item) {
        return options.indexOf(item) >= 0;
      })
        ? ""
        : "Choose from the listed options.";
    }
    if (type === "consent") return "";
    if (Array.from(value).length > field.max_length) return "At most " + field.max_length + " characters.";
    if (type === "email" && !EMAIL.test(value)) return "Enter a valid email address.";
    if (type === "phone") {
      var digits = value.replace(/[\s().\-\/]/g, "");
      if (!/^\+?\d{6,15}$/.test(digits)) return "Enter a valid phone number.";
    }
    if (type === "number") {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value)) return "Enter a number.";
      var number = parseFloat(value);
      if (!isFinite(number)) return "Enter a number.";
      if (field.min != null && number < field.min) return "Must be at least " + g(field.min) + ".";
      if (field.max != null && number > field.max) return "Must be at most " + g(field.max) + ".";
    }
    if (type === "date") {
      var date = /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(value + "T00:00:00Z");
      if (!date || isNaN(date) || date.toISOString().slice(0, 10) !== value) {
        return "Enter a date as YYYY-MM-DD.";
      }
    }
    if ((type === "select" || type === "radio") && options.indexOf(value) < 0) {
      return "Choose one of the listed options.";
    }
    if (field.pattern && /^(text|textarea|hidden)$/.test(type)) {
      var pattern;
      try {
        pattern = new RegExp("^(?:" + field.pattern + ")$");
      } catch (error) {
        pattern = null; // a Python-only pattern: the server checks it
      }
      if (pattern && !pattern.test(value)) return "This does not have the expected format.";
    }
    if ((type === "text" || type === "textarea") && field.min != null && Array.from(value).length < field.min) {
      return "At least " + g(field.min) + " characters.";
    }
    return "";
  }

  // What is wrong with a field as the person left it ("" when nothing is).
  function problem(entry) {
    if (!entry.error) return ""; // hidden fields: nothing the person could fix
    var input = entry.inputs[0];
    if (input.validity && input.validity.badInput) {
      return entry.field.type === "date" ? "Enter a date as YYYY-MM-DD." : "Enter a number.";
    }
    return check(entry.field, valueOf(entry));
  }

  // --- rendering ---------------------------------------------------------------------------

  function renderField(field, id, params) {
    var type = field.type;
    var entry = { field: field, inputs: [] };
    if (type === "hidden") {
      // Left empty, the server fills it from the page's UTM or the field's default.
      entry.wrap = el("input", { type: "hidden", name: field.name, value: params.get(field.name) || "" });
      entry.inputs.push(entry.wrap);
      return entry;
    }
    var star = field.required ? el("span", { class: "lf-required", "aria-hidden": "true" }, [" *"]) : null;
    var help = field.help_text ? el("p", { class: "lf-help", id: id + "-help" }, [field.help_text]) : null;
    var describedBy = (help ? id + "-help " : "") + id + "-error";
    var parts;
    entry.error = el("p", { class: "lf-error", id: id + "-error" });
    if (type === "radio" || type === "checkboxes") {
      var fieldset = el("fieldset", { class: "lf-fieldset", "aria-describedby": describedBy }, [
        el("legend", { class: "lf-legend" }, [field.label, star]),
      ]);
      field.options.forEach(function (option, index) {
        var input = el("input", {
          type: type === "radio" ? "radio" : "checkbox",
          class: "lf-check",
          id: id + "-" + index,
          name: field.name,
          value: option,
        });
        input.required = field.required && type === "radio";
        entry.inputs.push(input);
        fieldset.appendChild(el("label", { class: "lf-choice", for: input.id }, [input, el("span", {}, [option])]));
      });
      parts = [fieldset];
    } else if (type === "consent") {
      var box = el("input", { type: "checkbox", class: "lf-check", id: id, name: field.name, value: "1" });
      box.setAttribute("aria-describedby", describedBy);
      box.required = field.required;
      entry.inputs.push(box);
      parts = [el("label", { class: "lf-choice lf-consent", for: id }, [box, el("span", {}, [field.consent_text])])];
    } else {
      var tag = type === "textarea" || type === "select" ? type : "input";
      var input = el(tag, {
        class: "lf-input",
        id: id,
        name: field.name,
        "aria-describedby": describedBy,
        autocomplete: AUTOCOMPLETE[type] || AUTOCOMPLETE[field.name],
      });
      if (tag === "input") input.type = { email: "email", phone: "tel", number: "number", date: "date" }[type] || "text";
      if (type === "select") {
        input.appendChild(el("option", { value: "" }, [field.placeholder || "Choose…"]));
        field.options.forEach(function (option) {
          input.appendChild(el("option", { value: option }, [option]));
        });
      } else if (field.placeholder) input.placeholder = field.placeholder;
      if (type === "number") {
        input.step = "any";
        if (field.min != null) input.min = field.min;
        if (field.max != null) input.max = field.max;
      } else if (type !== "select" && type !== "date") input.maxLength = field.max_length;
      if (type === "textarea") input.rows = 4;
      input.required = field.required;
      entry.inputs.push(input);
      parts = [el("label", { class: "lf-label", for: id }, [field.label, star]), input];
    }
    entry.wrap = el("div", { class: "lf-field lf-field-" + type }, parts.concat([help, entry.error]));
    return entry;
  }

  function valueOf(entry) {
    var inputs = entry.inputs;
    var type = entry.field.type;
    if (type === "consent") return inputs[0].checked;
    var ticked = inputs
      .filter(function (input) {
        return input.type !== "radio" && input.type !== "checkbox" ? true : input.checked;
      })
      .map(function (input) {
        return input.value.trim();
      });
    return type === "checkboxes" ? ticked : ticked[0] || "";
  }

  function showError(entry, message) {
    if (!entry.error) return false;
    entry.error.textContent = message || "";
    entry.wrap.classList.toggle("lf-invalid", !!message);
    entry.inputs.forEach(function (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
    return true;
  }

  function pageContext() {
    var params = new URLSearchParams(location.search);
    var utm = {};
    UTM_KEYS.forEach(function (key) {
      if (params.get(key)) utm[key] = params.get(key);
    });
    var tracker = window.leadflow;
    return {
      page_url: location.href,
      referrer: document.referrer,
      utm: utm,
      visitor_id: String((tracker && tracker.visitorId) || ""),
    };
  }

  function render(embed, config) {
    var root = embed.root;
    var n = ++counter;
    var entries = [];
    var byName = {};
    var state = { busy: false, submissionId: null };
    var params = new URLSearchParams(location.search);
    var form = el("form", { class: "lf-form", novalidate: "", "aria-label": config.name });
    var alert = el("div", { class: "lf-alert", role: "alert" });
    var trap = el("input", { type: "text", name: config.honeypot, tabindex: "-1", autocomplete: "off" });
    var hidden = el("div", { class: "lf-hp", "aria-hidden": "true" }, [el("label", {}, ["Leave this empty ", trap])]);
    // Set through the CSSOM so no stylesheet of the site (nor its CSP) can reveal it.
    hidden.style.cssText = "position:absolute!important;left:-10000px!important;width:1px;height:1px;overflow:hidden";
    var button = el("button", { type: "submit", class: "lf-submit" }, [config.submit_label]);
    form.appendChild(alert);
    form.appendChild(hidden);
    config.fields.forEach(function (field) {
      var entry = renderField(field, "lf" + n + "-" + field.name, params);
      entries.push(entry);
      byName[field.name] = entry;
      form.appendChild(entry.wrap);
    });
    form.appendChild(button);

    function prepare(fresh) {
      state.token = fresh.token;
      state.loadedAt = Date.now();
      state.notBefore = state.loadedAt + (fresh.min_fill_seconds || 0) * 1000 + 250;
      var work = fresh.proof_of_work;
      // Start the puzzle at once: it is usually solved before the person has finished typing.
      state.nonce = work ? solve(work.challenge, work.bits) : Promise.resolve("");
    }
    prepare(config);

    function recheck(event) {
      var entry = byName[event.target.name];
      if (entry && (event.type === "change" || entry.wrap.classList.contains("lf-invalid"))) {
        showError(entry, problem(entry));
      }
    }
    form.addEventListener("change", recheck);
    form.addEventListener("input", recheck);

    function finish(answer) {
      var body = answer.body;
      emit(root, "submitted", {
        form: config.key,
        submission_id: state.submissionId,
        replayed: answer.status === 200,
        redirect_url: body.redirect_url || null,
      });
      if (body.redirect_url) {
        location.href = body.redirect_url;
        return;
      }
      var thanks = el("div", { class: "lf-success", role: "status", tabindex: "-1" }, [
        el("p", {}, [body.message || config.success_message]),
        magnetOffer(body.magnet),
      ]);
      root.replaceChild(thanks, form);
      thanks.focus();
    }

    function fail(answer) {
      var body = answer.body || {};
      var unplaced = [];
      var first = null;
      (body.errors || []).forEach(function (error) {
        var entry = byName[error.field];
        if (entry && showError(entry, error.message)) first = first || entry;
        else unplaced.push(error.message);
      });
      alert.textContent = unplaced.length
        ? unplaced.join(" ")
        : first
          ? ""
          : body.detail || "Something went wrong. Please try again.";
      if (first) first.inputs[0].focus();
      emit(root, "error", { form: config.key, status: answer.status, errors: body.errors || [] });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (state.busy) return;
      alert.textContent = "";
      var fields = {};
      var first = null;
      entries.forEach(function (entry) {
        var value = valueOf(entry);
        var message = problem(entry);
        showError(entry, message);
        if (message && !first) first = entry;
        if (!(value === "" || value === false || (Array.isArray(value) && !value.length))) {
          fields[entry.field.name] = value;
        }
      });
      if (first) {
        first.inputs[0].focus();
        return;
      }
      if (trap.value) fields[config.honeypot] = trap.value;
      state.busy = true;
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      // One id for every retry of this submission: the server stores it once.
      state.submissionId = state.submissionId || uuid();
      var renew =
        Date.now() - state.loadedAt > TOKEN_MAX_AGE
          ? embed.load().then(function (answer) {
              if (answer.status === 200) prepare(answer.body);
            })
          : Promise.resolve();
      renew
        .then(function () {
          return state.nonce;
        })
        .then(function (nonce) {
          // Answering faster than the form's minimum fill time would be taken for a bot.
          return new Promise(function (resolve) {
            setTimeout(resolve, Math.max(0, state.notBefore - Date.now()));
          }).then(function () {
            var body = {
              fields: fields,
              submission_id: state.submissionId,
              token: state.token,
              context: pageContext(),
            };
            if (nonce) body.pow = nonce;
            return withRetries(function () {
              return request(embed.url, { method: "POST", body: JSON.stringify(body) });
            });
          });
        })
        .then(
          function (answer) {
            if (answer.status === 200 || answer.status === 201) finish(answer);
            else fail(answer);
          },
          function () {
            fail({ body: { detail: "We could not reach the server. Check your connection and try again." } });
          }
        )
        .then(function () {
          state.busy = false;
          button.disabled = false;
          form.removeAttribute("aria-busy");
        });
    });

    root.appendChild(form);
    root.removeAttribute("aria-busy");
    emit(root, "ready", { form: config.key });
  }

  // --- finding the <script> tags ------------------------------------------------------------

  function mount(script) {
    if (script.getAttribute("data-lf-state")) return;
    script.setAttribute("data-lf-state", "mounted");
    var key = script.getAttribute("data-form");
    var src = script.getAttribute("data-base") || script.src;
    var match = /^(.*?)\/static\/leadflow\//.exec(src);
    var base = (script.getAttribute("data-base") || (match ? match[1] : new URL(src).origin)).replace(/\/+$/, "");
    var embed = {
      url: base + "/f/" + encodeURIComponent(key),
      root: el("div", { class: "lf-embed", "data-lf-form": key, "aria-busy": "true" }),
    };
    var target = script.getAttribute("data-target");
    target = target && document.querySelector(target);
    if (target) target.appendChild(embed.root);
    else script.parentNode.insertBefore(embed.root, script.nextSibling);
    if (!window.fetch || !window.Promise || !window.URLSearchParams) {
      // A browser too old for this script still gets the hosted form.
      embed.root.appendChild(
        el("iframe", { src: embed.url + "?embed=1", title: key, class: "lf-frame", style: "width:100%;height:40rem;border:0" })
      );
      return;
    }
    if (!document.getElementById("lf-style")) {
      var style = el("style", { id: "lf-style" }, [CSS]);
      if (script.nonce) style.nonce = script.nonce;
      var head = document.head || document.documentElement;
      head.insertBefore(style, head.firstChild);
    }
    embed.load = function () {
      return withRetries(function () {
        return request(embed.url + "/config");
      });
    };
    embed.load().then(
      function (answer) {
        if (answer.status === 200) return render(embed, answer.body);
        var detail = answer.body.detail || "status " + answer.status;
        if (answer.status === 410) embed.root.appendChild(el("p", { class: "lf-unavailable" }, [detail]));
        if (window.console) console.warn("LeadFlow form " + key + ": " + detail);
      },
      function () {
        if (window.console) console.warn("LeadFlow form " + key + ": the server could not be reached.");
      }
    );
  }

  function scan() {
    var current = document.currentScript;
    if (current && current.getAttribute("data-form")) mount(current);
    var scripts = document.querySelectorAll("script[data-form][src]");
    for (var i = 0; i < scripts.length; i++) mount(scripts[i]);
  }

  scan();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
})();
