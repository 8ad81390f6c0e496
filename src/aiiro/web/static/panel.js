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
    function apply(item) {
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

  // Create-instance form: offer the plans and fields that fit the chosen OS and source.
  function createForm() {
    var form = document.getElementById("create-instance");
    if (!form) return;
    var os = form.querySelector("#os");
    var plan = form.querySelector("#plan");
    var sources = form.querySelectorAll('input[name="source"]');
    function family() {
      var chosen = form.querySelector('input[name="source"]:checked');
      var source = chosen ? chosen.value : "image";
      if (source === "import") return "import";
      if (source === "snapshot") return "snapshot";
      var option = os && os.options[os.selectedIndex];
      return option ? option.getAttribute("data-family") || "linux" : "linux";
    }
    function update() {
      var f = family();
      var planFamily = f === "windows" ? "windows" : "linux";
      if (plan) {
        Array.prototype.forEach.call(plan.options, function (option) {
          var fits = !option.getAttribute("data-family") || option.getAttribute("data-family") === planFamily;
          option.hidden = !fits;
          option.disabled = !fits;
        });
        if (plan.selectedOptions.length && plan.selectedOptions[0].disabled) {
          var first = Array.prototype.find.call(plan.options, function (o) { return !o.disabled; });
          if (first) plan.value = first.value;
        }
      }
      form.querySelectorAll("[data-for]").forEach(function (part) {
        var wanted = part.getAttribute("data-for").split(" ");
        var shown = wanted.indexOf(f) >= 0;
        part.hidden = !shown;
        part.querySelectorAll("input, select, textarea").forEach(function (field) { field.disabled = !shown; });
      });
    }
    if (os) os.addEventListener("change", update);
    sources.forEach(function (radio) { radio.addEventListener("change", update); });
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
      socket = new WebSocket(scheme + location.host + box.getAttribute("data-ws"));
      socket.binaryType = "arraybuffer";
      say("connecting");
      socket.onopen = function () { say("connected"); term.focus(); };
      socket.onmessage = function (event) {
        var text = typeof event.data === "string" ? event.data : decoder.decode(new Uint8Array(event.data), { stream: true });
        term.write(text);
      };
      socket.onclose = function () { say("closed"); };
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
