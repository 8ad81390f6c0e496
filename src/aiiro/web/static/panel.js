// aiiro control panel: small progressive enhancements. Every page works without it,
// except the live status updates and the console.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // Forms that ask before they act (delete, destroy, restore...).
  function confirmations() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var question = form.getAttribute && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    });
  }

  // Copy buttons next to keys, secrets and snippets.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        var text = source ? source.textContent : "";
        var done = function () {
          var label = button.textContent;
          button.textContent = button.getAttribute("data-copied") || label;
          setTimeout(function () { button.textContent = label; }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(source, done); });
        } else {
          fallbackCopy(source, done);
        }
      });
    });
  }

  function fallbackCopy(source, done) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
  }

  // Live instance status: poll the panel's JSON while the page is visible.
  function liveStatus() {
    var holder = document.querySelector("[data-poll]");
    if (!holder) return;
    var url = holder.getAttribute("data-poll");
    var every = parseInt(holder.getAttribute("data-poll-ms") || "2000", 10);
    // On an instance's own page, a message about a command under way ("being created",
    // "starting"...) goes once the instance is no longer busy.
    var own = holder.getAttribute("data-instance-id");
    function apply(item) {
      if (own === String(item.id) && item.state !== "busy") {
        document.querySelectorAll("[data-while-busy]").forEach(function (box) { box.remove(); });
      }
      var rows = document.querySelectorAll('[data-instance-id="' + item.id + '"]');
      rows.forEach(function (row) {
        row.setAttribute("data-state", item.state);
        row.querySelectorAll('[data-field="status"]').forEach(function (cell) {
          var badge = document.createElement("span");
          badge.className = "badge badge-" + item.state;
          badge.textContent = item.label;
          cell.replaceChildren(badge);
        });
        row.querySelectorAll('[data-field="ip"]').forEach(function (cell) {
          cell.textContent = item.ip || "-";
        });
        row.querySelectorAll("button[data-command]").forEach(function (button) {
          button.disabled = item.allowed.indexOf(button.getAttribute("data-command")) < 0;
        });
      });
    }
    function tick() {
      if (document.hidden) return;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) data.instances.forEach(apply); })
        .catch(function () { /* try again next tick */ });
    }
    setInterval(tick, every);
  }

  // Create-instance form: show the fields and plans that fit the chosen source and OS.
  // Parts say when they apply: data-source (image / import / snapshot) and data-family
  // (linux / windows / import: what the instance is, for a snapshot its instance's OS).
  // Hidden parts are disabled too, so they are not sent.
  function createForm() {
    var form = document.getElementById("create-instance");
    if (!form) return;
    var os = form.querySelector("#os");
    var snapshot = form.querySelector("#snapshot");
    var plan = form.querySelector("#plan");
    var sshkey = form.querySelector("#sshkey");
    function chosenFamily(select) {
      var option = select && select.options[select.selectedIndex];
      return (option && option.getAttribute("data-family")) || "linux";
    }
    function source() {
      var chosen = form.querySelector('input[name="source"]:checked');
      return chosen ? chosen.value : "image";
    }
    function family(src) {
      if (src === "import") return "import";
      return chosenFamily(src === "snapshot" ? snapshot : os);
    }
    function applies(part, name, value) {
      var wanted = part.getAttribute("data-" + name);
      return wanted === null || wanted.split(" ").indexOf(value) >= 0;
    }
    function firstEnabled(select) {
      if (select.selectedOptions.length && !select.selectedOptions[0].disabled) return;
      var first = Array.prototype.find.call(select.options, function (o) { return !o.disabled; });
      if (first) select.value = first.value;
    }
    function offer(option, fits) {
      option.hidden = !fits;
      option.disabled = !fits;
    }
    function update() {
      var src = source();
      var f = family(src);
      if (plan) {
        var planFamily = f === "windows" ? "windows" : "linux";
        Array.prototype.forEach.call(plan.options, function (option) {
          var wanted = option.getAttribute("data-family");
          offer(option, !wanted || wanted === planFamily);
        });
        firstEnabled(plan);
      }
      if (sshkey) {
        // Linux needs a key: 「なし」 only where a key is optional, or when there is none
        // to choose (the hint then links to the SSH key page).
        var none = sshkey.querySelector("option[data-none]");
        if (none) offer(none, f !== "linux" || sshkey.options.length === 1);
        firstEnabled(sshkey);
      }
      form.querySelectorAll("[data-source], [data-family]").forEach(function (part) {
        if (part.tagName === "OPTION") return;
        var shown = applies(part, "source", src) && applies(part, "family", f);
        part.hidden = !shown;
        part.querySelectorAll("input, select, textarea").forEach(function (field) { field.disabled = !shown; });
      });
    }
    form.addEventListener("change", function (event) {
      if (event.target === os || event.target === snapshot || event.target.name === "source") update();
    });
    update();
  }

  // Firewall rule editor: add and remove rows.
  function ruleEditor() {
    document.querySelectorAll("[data-rules]").forEach(function (table) {
      var body = table.querySelector("tbody");
      var template = document.getElementById(table.getAttribute("data-rules"));
      var add = document.querySelector('[data-add-rule="' + table.id + '"]');
      if (add && template) {
        add.addEventListener("click", function () {
          var row = template.content.firstElementChild.cloneNode(true);
          body.appendChild(row);
          var first = row.querySelector("select, input");
          if (first) first.focus();
        });
      }
      table.addEventListener("click", function (event) {
        var button = event.target.closest("[data-remove-rule]");
        if (button) button.closest("tr").remove();
      });
    });
  }

  // The instance console over a websocket, in xterm.js.
  function consoleView() {
    var box = document.getElementById("console");
    if (!box || typeof window.Terminal !== "function") return;
    var state = document.getElementById("console-state");
    var reconnect = document.getElementById("console-reconnect");
    var term = new window.Terminal({ convertEol: true, cursorBlink: true, fontSize: 14, scrollback: 5000 });
    var fit = window.FitAddon ? new window.FitAddon.FitAddon() : null;
    if (fit) term.loadAddon(fit);
    term.open(box);
    if (fit) { try { fit.fit(); } catch (e) { /* hidden box */ } }
    window.addEventListener("resize", function () { if (fit) { try { fit.fit(); } catch (e) { /* ignore */ } } });
    var socket = null;
    var decoder = new TextDecoder();
    function say(key) {
      if (state) state.textContent = state.getAttribute("data-" + key) || key;
      box.setAttribute("data-console", key);
    }
    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      // The CSRF token goes as the second offered subprotocol, not in the URL (servers and
      // proxies log URLs); the server answers with the first, "aiiro.console".
      socket = new WebSocket(scheme + location.host + box.getAttribute("data-ws"),
        ["aiiro.console", box.getAttribute("data-csrf")]);
      socket.binaryType = "arraybuffer";
      say("connecting");
      socket.onopen = function () { say("connected"); term.focus(); };
      socket.onmessage = function (event) {
        var text = typeof event.data === "string" ? event.data : decoder.decode(new Uint8Array(event.data), { stream: true });
        term.write(text);
      };
      // 4403: not signed in (any more); 4404: no such instance (console.py).
      socket.onclose = function (event) {
        say(event.code === 4403 ? "denied" : event.code === 4404 ? "gone" : "closed");
      };
    }
    term.onData(function (data) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(data);
    });
    // Everything the console has printed, as plain text (for tests and for copying).
    window.aiiroConsole = {
      text: function () {
        var buffer = term.buffer.active;
        var lines = [];
        for (var i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
        return lines.join("\n");
      }
    };
    if (reconnect) reconnect.addEventListener("click", function () {
      if (socket) socket.close();
      term.reset();
      connect();
    });
    connect();
  }

  onReady(function () {
    confirmations();
    copyButtons();
    liveStatus();
    createForm();
    ruleEditor();
    consoleView();
  });
})();
