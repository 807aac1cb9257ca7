/*!
 * Madoguchi（窓口）web chat widget — talks to Rasa's socket.io channel.
 *
 * Embed with one tag (socket.io-client is loaded from vendor/ next to this file, nothing from the internet):
 *   <script src="https://example.jp/madoguchi/madoguchi-widget.js" data-server="https://bot.example.jp" defer></script>
 *
 * Attributes of that tag:
 *   data-server        the Rasa server (socket.io at <server>/socket.io); default: this page's host, port 5005
 *   data-title         the dialog title (default 窓口 AI案内)
 *   data-greeting      the first line shown in an empty conversation
 *   data-storage       "local" (default: the conversation survives closing the tab) or "session"
 *   data-server-param  demo pages only: name of a query parameter of the page URL that may override data-server
 *
 * Every text from the bot or the user is rendered with textContent / text nodes, never as HTML.
 *
 * Sessions: the server gives the session id and its token (session_confirm {session_id, token}); both
 * are kept in the same storage as the conversation and sent back in session_request after a reload,
 * so the conversation resumes and no other page can join or post into it (bot/channels/socketio.py).
 * 「会話を消去」 forgets both and asks the server for a new session.
 */
(function () {
  "use strict";

  if (window.__madoguchiWidget) return;
  var SCRIPT = document.currentScript || document.querySelector('script[src*="madoguchi-widget"]');
  if (!SCRIPT) return;

  var MAX_ENTRIES = 200;
  var HTTP_URL = /^https?:\/\/[^\s]+$/i;

  function attr(name, fallback) {
    var value = SCRIPT.getAttribute(name);
    return value && value.trim() ? value.trim() : fallback;
  }

  function serverUrl() {
    var server = attr("data-server", location.protocol + "//" + location.hostname + ":5005");
    var param = attr("data-server-param", "");
    if (param) {
      var override = new URLSearchParams(location.search).get(param);
      if (override && HTTP_URL.test(override)) server = override;
    }
    return server.replace(/\/+$/, "");
  }

  var CONFIG = {
    server: serverUrl(),
    title: attr("data-title", "窓口 AI案内"),
    greeting: attr(
      "data-greeting",
      "こんにちは。窓口のAI案内です。総会や発表の内容、市区町村の団体コードなどについて質問してください。"
    ),
    storage: attr("data-storage", "local") === "session" ? "sessionStorage" : "localStorage",
  };

  // ---- storage (falls back to memory where the browser refuses storage) ----
  var KEY = "madoguchi:" + CONFIG.server + ":";
  var memory = {};
  function store() {
    try {
      var s = window[CONFIG.storage];
      s.setItem(KEY + "probe", "1");
      s.removeItem(KEY + "probe");
      return s;
    } catch (e) {
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
        setItem: function (k, v) { memory[k] = String(v); },
        removeItem: function (k) { delete memory[k]; },
      };
    }
  }
  var STORE = store();

  function loadTranscript() {
    try {
      var entries = JSON.parse(STORE.getItem(KEY + "transcript") || "[]");
      return Array.isArray(entries) ? entries.filter(validEntry) : [];
    } catch (e) {
      return [];
    }
  }
  function validEntry(e) {
    return e && (e.from === "user" || e.from === "bot") && typeof e.text === "string";
  }
  function saveTranscript() {
    try {
      STORE.setItem(KEY + "transcript", JSON.stringify(transcript.slice(-MAX_ENTRIES)));
    } catch (e) { /* storage full: the conversation goes on, unsaved */ }
  }
  // The session the server confirmed (its id and token), kept so that a reload resumes it.
  function session() {
    var id = STORE.getItem(KEY + "session");
    var token = STORE.getItem(KEY + "token");
    return { session_id: id || undefined, token: id && token ? token : undefined };
  }
  function keepSession(id, token) {
    try {
      STORE.setItem(KEY + "session", id);
      if (token) STORE.setItem(KEY + "token", token);
      else STORE.removeItem(KEY + "token");
    } catch (e) { /* storage full: the session lasts as long as the page */ }
  }
  function forgetSession() {
    STORE.removeItem(KEY + "session");
    STORE.removeItem(KEY + "token");
  }
  function requestSession() {
    var s = session();
    var request = {};
    if (s.session_id) request.session_id = s.session_id;
    if (s.token) request.token = s.token;
    socket.emit("session_request", request);
  }

  // ---- DOM helpers: elements and text only ----
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === "text") node.textContent = props[k];
      else if (k === "className") node.className = props[k];
      else node.setAttribute(k, props[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  // Bot text: plain text nodes, with http(s) addresses turned into links (href set from the matched text only).
  var URL_IN_TEXT = /https?:\/\/[^\s<>"'「」『』（）()、。，]+/g;
  function appendBotText(parent, text) {
    var last = 0;
    var match;
    URL_IN_TEXT.lastIndex = 0;
    while ((match = URL_IN_TEXT.exec(text))) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = el("a", { href: match[0], target: "_blank", rel: "noopener noreferrer", text: match[0] });
      link.appendChild(el("span", { className: "mg-sr", text: "（新しいウィンドウで開きます）" }));
      parent.appendChild(link);
      last = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:'Hiragino Kaku Gothic ProN','Hiragino Sans','Noto Sans JP','Noto Sans CJK JP',Meiryo,sans-serif}",
    ".mg-sr{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}",
    ".mg-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;",
    "padding:12px 18px;border:0;border-radius:28px;background:#0b5394;color:#fff;font-size:16px;font-weight:bold;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.3)}",
    ".mg-launcher:hover{background:#073763}",
    ".mg-launcher svg{width:22px;height:22px;fill:currentColor}",
    ".mg-dialog{position:fixed;right:20px;bottom:84px;z-index:2147483000;width:380px;max-width:calc(100vw - 24px);height:560px;",
    "max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;color:#1a1a1a;border:1px solid #8a8a8a;",
    "border-radius:12px;box-shadow:0 8px 28px rgba(0,0,0,.3);overflow:hidden;font-size:15px;line-height:1.6}",
    ".mg-dialog[hidden]{display:none}",
    ".mg-head{display:flex;align-items:center;gap:6px;padding:10px 12px;background:#0b5394;color:#fff}",
    ".mg-head h2{flex:1;margin:0;font-size:16px}",
    ".mg-head button{border:1px solid #fff;background:transparent;color:#fff;border-radius:6px;padding:4px 8px;font-size:13px;cursor:pointer}",
    ".mg-head .mg-close{font-size:18px;line-height:1;padding:4px 10px}",
    ".mg-status{padding:4px 12px;font-size:13px;background:#fff4ce;color:#4a3b00}",
    ".mg-status:empty{display:none}",
    ".mg-log{flex:1;overflow-y:auto;padding:12px;background:#f4f6f8;display:flex;flex-direction:column;gap:8px}",
    ".mg-msg{max-width:85%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".mg-bot{align-self:flex-start;background:#fff;border:1px solid #c9d1d9}",
    ".mg-user{align-self:flex-end;background:#0b5394;color:#fff}",
    ".mg-bot a{color:#0b5394}",
    ".mg-typing{padding:0 12px 6px;font-size:13px;color:#444;background:#f4f6f8}",
    ".mg-quick{display:flex;flex-wrap:wrap;gap:6px;padding:8px 12px;border-top:1px solid #dde2e7}",
    ".mg-quick:empty{display:none}",
    ".mg-quick button{border:1px solid #0b5394;background:#fff;color:#0b5394;border-radius:16px;padding:6px 12px;font-size:14px;cursor:pointer}",
    ".mg-quick button:hover{background:#e8f0fa}",
    ".mg-form{display:flex;flex-wrap:wrap;gap:6px;padding:10px 12px;border-top:1px solid #dde2e7}",
    ".mg-form label{width:100%;font-size:13px;color:#333}",
    ".mg-form input{flex:1;min-width:0;padding:8px 10px;border:1px solid #6b6b6b;border-radius:6px;font-size:15px}",
    ".mg-form button{padding:8px 14px;border:0;border-radius:6px;background:#0b5394;color:#fff;font-size:15px;font-weight:bold;cursor:pointer}",
    "button:focus-visible,input:focus-visible,a:focus-visible,.mg-log:focus-visible{outline:3px solid #e8a100;outline-offset:2px}",
  ].join("\n");

  var CHAT_ICON =
    "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 " +
    "0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z";

  // ---- state ----
  var transcript = loadTranscript();
  var socket = null;
  var ready = false;
  var confirmedId = null;
  var queue = [];
  var typingTimer = null;
  var ui = {};

  function build() {
    var host = el("div", { id: "madoguchi-chat" });
    var root = host.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el("style", { text: CSS }));
    }

    var svgNs = "http://www.w3.org/2000/svg";
    var icon = document.createElementNS(svgNs, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    var path = document.createElementNS(svgNs, "path");
    path.setAttribute("d", CHAT_ICON);
    icon.appendChild(path);

    ui.log = el("div", { id: "mg-log", className: "mg-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-atomic": "false", "aria-label": "会話の履歴", tabindex: "0" });
    // Restored history goes in before the log is part of the page, so it is not announced again.
    ui.log.appendChild(messageNode({ from: "bot", text: CONFIG.greeting }));
    transcript.forEach(function (entry) { ui.log.appendChild(messageNode(entry)); });

    ui.close = el("button", { type: "button", className: "mg-close", "aria-label": "チャットを閉じる", text: "×" });
    ui.clear = el("button", { type: "button", className: "mg-clear", text: "会話を消去" });
    ui.status = el("div", { className: "mg-status", role: "status" });
    ui.typing = el("div", { className: "mg-typing", "aria-hidden": "true", text: "回答を準備しています…" });
    ui.typing.hidden = true;
    ui.quick = el("div", { className: "mg-quick", role: "group", "aria-label": "選択肢" });
    ui.input = el("input", { id: "mg-input", type: "text", autocomplete: "off", maxlength: "1000",
      placeholder: "例：第7回総会の会場は？", enterkeyhint: "send" });
    ui.send = el("button", { type: "submit", className: "mg-send", text: "送信" });
    ui.form = el("form", { className: "mg-form" }, [
      el("label", { for: "mg-input", text: "質問を入力" }), ui.input, ui.send,
    ]);
    ui.dialog = el("div", { id: "mg-dialog", className: "mg-dialog", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "mg-title" }, [
      el("div", { className: "mg-head" }, [el("h2", { id: "mg-title", text: CONFIG.title }), ui.clear, ui.close]),
      ui.status, ui.log, ui.typing, ui.quick, ui.form,
    ]);
    ui.dialog.hidden = true;
    ui.launcher = el("button", { type: "button", className: "mg-launcher", "aria-expanded": "false",
      "aria-controls": "mg-dialog", "aria-haspopup": "dialog" }, [icon, el("span", { text: "AI案内に質問" })]);

    root.appendChild(ui.dialog);
    root.appendChild(ui.launcher);
    var last = transcript[transcript.length - 1];
    if (last && last.from === "bot" && last.buttons) showQuickReplies(last.buttons);

    ui.launcher.addEventListener("click", function () { if (ui.dialog.hidden) open(); else close(); });
    ui.close.addEventListener("click", close);
    ui.clear.addEventListener("click", clearConversation);
    ui.dialog.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" || ev.key === "Esc") {
        ev.preventDefault();
        close();
      }
    });
    ui.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = ui.input.value.trim();
      if (text) {
        ui.input.value = "";
        sendMessage(text, text);
      }
      ui.input.focus();
    });
    document.body.appendChild(host);
  }

  function messageNode(entry) {
    var bot = entry.from === "bot";
    var node = el("div", { className: "mg-msg " + (bot ? "mg-bot" : "mg-user") }, [
      el("span", { className: "mg-sr", text: bot ? "窓口：" : "あなた：" }),
    ]);
    if (bot) appendBotText(node, entry.text);
    else node.appendChild(document.createTextNode(entry.text));
    return node;
  }

  function addMessage(entry) {
    transcript.push(entry);
    if (transcript.length > MAX_ENTRIES) transcript = transcript.slice(-MAX_ENTRIES);
    saveTranscript();
    ui.log.appendChild(messageNode(entry));
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function showQuickReplies(buttons) {
    ui.quick.textContent = "";
    buttons.forEach(function (b) {
      var button = el("button", { type: "button", text: b.title });
      button.addEventListener("click", function () {
        sendMessage(b.payload, b.title);
        ui.input.focus();
      });
      ui.quick.appendChild(button);
    });
  }

  function normalizeButtons(list) {
    if (!Array.isArray(list)) return [];
    return list
      .map(function (b) {
        var title = b && (b.title != null ? String(b.title) : "");
        var payload = b && (b.payload != null ? String(b.payload) : title);
        return { title: title, payload: payload };
      })
      .filter(function (b) { return b.title && b.payload; });
  }

  // ---- conversation ----
  function sendMessage(payload, shownText) {
    ui.quick.textContent = "";
    addMessage({ from: "user", text: shownText });
    queue.push(payload);
    setTyping(true);
    connect();
    flush();
  }

  function flush() {
    while (ready && socket && queue.length) {
      socket.emit("user_uttered", { message: queue.shift(), session_id: confirmedId });
    }
  }

  function onBotMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    setTyping(false);
    var text = typeof msg.text === "string" ? msg.text : "";
    var buttons = normalizeButtons(msg.quick_replies || msg.buttons);
    if (!text && msg.attachment && msg.attachment.payload && HTTP_URL.test(String(msg.attachment.payload.src || ""))) {
      text = String(msg.attachment.payload.src);
    }
    if (!text && !buttons.length) return;
    var entry = { from: "bot", text: text || "次から選んでください。" };
    if (buttons.length) entry.buttons = buttons;
    addMessage(entry);
    if (buttons.length) showQuickReplies(buttons);
  }

  function setTyping(on) {
    clearTimeout(typingTimer);
    ui.typing.hidden = !on;
    if (on) typingTimer = setTimeout(function () { ui.typing.hidden = true; }, 30000);
  }

  function setStatus(text) {
    if (ui.status.textContent !== text) ui.status.textContent = text;
  }

  function loadSocketIo(done) {
    if (window.io && typeof window.io === "function") return done();
    var tag = document.createElement("script");
    tag.src = new URL("vendor/socket.io.min.js", SCRIPT.src).href;
    tag.async = true;
    tag.onload = done;
    tag.onerror = function () { setStatus("チャット部品を読み込めませんでした。ページを再読み込みしてください。"); };
    document.head.appendChild(tag);
  }

  function connect() {
    if (socket) return;
    socket = "loading";
    loadSocketIo(function () {
      socket = window.io(CONFIG.server, { path: "/socket.io", transports: ["polling", "websocket"] });
      socket.on("connect", requestSession);
      socket.on("session_confirm", function (confirmed) {
        var isObject = confirmed && typeof confirmed === "object";
        var id = isObject ? confirmed.session_id : confirmed;
        if (typeof id !== "string" || !id) return;
        confirmedId = id;  // this page's session, even if another tab stores a newer one
        keepSession(id, isObject && typeof confirmed.token === "string" ? confirmed.token : "");
        ready = true;
        setStatus("");
        flush();
      });
      socket.on("bot_uttered", onBotMessage);
      socket.on("disconnect", function () { ready = false; });
      socket.on("connect_error", function () {
        ready = false;
        setStatus("サーバーに接続できません。しばらくしてから、もう一度お試しください。");
      });
    });
  }

  function open() {
    ui.dialog.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.log.scrollTop = ui.log.scrollHeight;
    ui.input.focus();
    connect();
  }

  function close() {
    ui.dialog.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.focus();
  }

  function clearConversation() {
    transcript = [];
    queue = [];
    STORE.removeItem(KEY + "transcript");
    forgetSession();
    ui.quick.textContent = "";
    ui.log.textContent = "";
    ui.log.appendChild(messageNode({ from: "bot", text: CONFIG.greeting }));
    confirmedId = null;
    if (socket && typeof socket === "object" && socket.connected) {
      ready = false;
      requestSession();  // no id, no token: the server starts a new session
    }
    ui.input.focus();
  }

  window.__madoguchiWidget = { open: function () { open(); }, close: function () { close(); }, server: CONFIG.server };
  if (document.body) build();
  else document.addEventListener("DOMContentLoaded", build);
})();
