/* The content calendar (Telegram Mini App). Vanilla JS, no build step.
 *
 * Who the user is comes from Telegram's initData: window.Telegram.WebApp.initData when
 * telegram-web-app.js loaded, else the URL fragment (#tgWebAppData=...), which Telegram
 * always passes too. Every API call sends it (Authorization: tma <initData>) and the server
 * checks it. Times are wall times of the user's zone, computed by the server: the page does
 * no time-zone arithmetic, and dates are handled as UTC midnights only to count days.
 */
(function () {
  "use strict";

  var TG_SCRIPT = "https://telegram.org/js/telegram-web-app.js";
  var HOUR_PX = 40;
  var DAY_MS = 86400000;
  var SNAP_MINUTES = 15;

  var state = {
    view: "week",
    anchor: null, // "YYYY-MM-DD", a day of the shown week or month
    target: "",
    me: null,
    s: {},
    targets: [],
    data: null,
    initData: "",
    started: false,
    scrolled: false,
    sheetOpen: false,
    busy: false,
  };

  // ---------- small helpers ----------

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  // Before /api/me answered (or when it refused), the page can only speak English.
  var FALLBACK = {
    error_auth: "Open the calendar from the bot's menu again.",
    error_generic: "Something went wrong. Try again.",
    error_not_found: "That post is not yours or no longer exists.",
  };

  function t(key, values) {
    var text = state.s[key] || FALLBACK[key] || key;
    if (values) {
      Object.keys(values).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(values[name]));
      });
    }
    return text;
  }
  function parseDay(s) {
    var p = s.split("-").map(Number);
    return new Date(Date.UTC(p[0], p[1] - 1, p[2]));
  }
  function fmtDay(d) { return d.toISOString().slice(0, 10); }
  function addDays(d, n) { return new Date(d.getTime() + n * DAY_MS); }
  function mondayOf(d) { return addDays(d, -((d.getUTCDay() + 6) % 7)); }
  function minutesOf(local) { return Number(local.slice(11, 13)) * 60 + Number(local.slice(14, 16)); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hhmm(minutes) { return pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60); }
  function fmt(date, options) {
    options.timeZone = "UTC";
    try {
      return new Intl.DateTimeFormat(state.me ? state.me.language : "en", options).format(date);
    } catch (e) {
      return fmtDay(date);
    }
  }
  function today() { return state.me ? state.me.now_local.slice(0, 10) : fmtDay(new Date()); }

  // ---------- Telegram ----------

  function webApp() {
    return window.Telegram && window.Telegram.WebApp ? window.Telegram.WebApp : null;
  }
  function fragment() { return new URLSearchParams(window.location.hash.slice(1)); }

  function applyTheme(params, scheme) {
    var root = document.documentElement;
    Object.keys(params || {}).forEach(function (key) {
      var value = params[key];
      if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
      }
    });
    if (scheme) root.setAttribute("data-scheme", scheme);
  }

  function themeFromFragment() {
    var raw = fragment().get("tgWebAppThemeParams");
    if (!raw) return;
    try { applyTheme(JSON.parse(raw)); } catch (e) { /* a theme is a nicety */ }
  }

  function attachTelegram() {
    var wa = webApp();
    if (!wa) return;
    try {
      if (wa.ready) wa.ready();
      if (wa.expand) wa.expand();
      if (wa.disableVerticalSwipes) wa.disableVerticalSwipes();
      applyTheme(wa.themeParams, wa.colorScheme);
      if (wa.onEvent) {
        wa.onEvent("themeChanged", function () { applyTheme(wa.themeParams, wa.colorScheme); });
      }
      if (wa.BackButton && wa.BackButton.onClick) wa.BackButton.onClick(closeSheet);
    } catch (e) { /* an old client: the page still works */ }
    if (!state.initData && wa.initData) {
      state.initData = wa.initData;
      if (!state.started) start();
    }
  }

  function loadTelegram() {
    if (webApp()) { attachTelegram(); return; }
    var script = document.createElement("script");
    script.src = TG_SCRIPT;
    script.async = true;
    script.onload = attachTelegram;
    document.head.appendChild(script);
  }

  function haptic(kind) {
    var wa = webApp();
    try {
      if (wa && wa.HapticFeedback) wa.HapticFeedback.notificationOccurred(kind);
    } catch (e) { /* optional */ }
  }

  // ---------- API ----------

  function api(method, path, body) {
    var options = {
      method: method,
      headers: { Authorization: "tma " + state.initData },
      cache: "no-store",
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch("api/" + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          var error = new Error("api");
          error.status = response.status;
          error.code = (json.error && json.error.code) || "generic";
          throw error;
        }
        return json;
      });
    });
  }

  function errorText(error) {
    if (error.status === 401 || error.status === 403) return t("error_auth");
    if (error.status === 404) return t("error_not_found");
    if (state.s["error_" + error.code]) return t("error_" + error.code);
    return t("error_generic");
  }

  var toastTimer = null;
  function toast(text, isError) {
    var node = $("toast");
    node.textContent = text;
    node.className = "toast" + (isError ? " error" : "");
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { node.hidden = true; }, 3500);
  }

  // ---------- start ----------

  function start() {
    if (!state.initData) {
      $("status").textContent = "Open this page from the bot's menu in Telegram.";
      return;
    }
    state.started = true;
    $("status").textContent = "…";
    Promise.all([api("GET", "me"), api("GET", "targets")])
      .then(function (values) {
        state.me = values[0];
        state.s = values[0].strings;
        state.failures = values[0].failures || {};
        state.targets = values[1].targets;
        state.anchor = today();
        document.documentElement.lang = state.me.language;
        document.title = t("title");
        chrome();
        return load();
      })
      .catch(function (error) {
        $("status").textContent = error.status ? errorText(error) : "Network error.";
        document.body.setAttribute("data-state", "error");
      });
  }

  function chrome() {
    $("title").textContent = t("title");
    $("view-week").textContent = t("week");
    $("view-month").textContent = t("month");
    $("today").textContent = t("today");
    $("prev").setAttribute("aria-label", t("previous"));
    $("next").setAttribute("aria-label", t("next"));
    var select = $("target");
    select.textContent = "";
    var all = el("option", null, t("all_targets"));
    all.value = "";
    select.appendChild(all);
    state.targets.forEach(function (target) {
      var option = el("option", null, target.title);
      option.value = String(target.id);
      select.appendChild(option);
    });
    var legend = $("legend");
    legend.textContent = "";
    ["scheduled", "queued", "awaiting_approval", "published", "failed", "unknown"].forEach(
      function (status) {
        var item = el("span", "st-" + status);
        var key = el("i");
        key.style.background = "var(--chip)";
        item.appendChild(key);
        item.appendChild(document.createTextNode(t("status_" + status)));
        legend.appendChild(item);
      }
    );
    var ghost = el("span");
    ghost.appendChild(el("i", "ghost-key"));
    ghost.appendChild(document.createTextNode(t("rule_run")));
    legend.appendChild(ghost);
    markView();
  }

  function markView() {
    $("view-week").classList.toggle("on", state.view === "week");
    $("view-month").classList.toggle("on", state.view === "month");
  }

  function range() {
    var anchor = parseDay(state.anchor);
    if (state.view === "week") {
      var monday = mondayOf(anchor);
      return { first: monday, days: 7 };
    }
    var first = new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), 1));
    return { first: mondayOf(first), days: 42, month: first };
  }

  function load() {
    var r = range();
    var query = "from=" + fmtDay(r.first) + "&to=" + fmtDay(addDays(r.first, r.days - 1));
    if (state.target) query += "&target=" + encodeURIComponent(state.target);
    document.body.setAttribute("data-state", "loading");
    return api("GET", "posts?" + query)
      .then(function (data) {
        state.data = data;
        render();
        document.body.setAttribute("data-state", "ready");
      })
      .catch(function (error) {
        toast(errorText(error), true);
        document.body.setAttribute("data-state", "error");
      });
  }

  // ---------- rendering ----------

  function byDay(items) {
    var days = {};
    items.forEach(function (item) {
      var day = item.local.slice(0, 10);
      (days[day] = days[day] || []).push(item);
    });
    return days;
  }

  function statusClass(post) {
    return "st-" + (post.queued && post.status === "scheduled" ? "queued" : post.status);
  }

  function postChip(post) {
    var chip = el("div", "chip " + statusClass(post));
    if (post.draggable) chip.classList.add("draggable");
    if (post.queued) chip.classList.add("queued");
    chip.setAttribute("data-id", String(post.id));
    chip.setAttribute("data-local", post.local);
    chip.setAttribute("data-status", post.status);
    chip.title = post.target + " · " + t("status_" + post.status) + " · " + post.snippet;
    chip.appendChild(el("b", null, post.local.slice(11, 16)));
    chip.appendChild(el("span", "snip", post.snippet || "#" + post.id));
    return chip;
  }

  function ghostChip(ghost) {
    var chip = el("div", "chip ghost");
    chip.setAttribute("data-rule", String(ghost.rule_id));
    chip.setAttribute("data-local", ghost.local);
    chip.title = t("ghost_hint", { name: ghost.rule });
    chip.appendChild(el("b", null, ghost.local.slice(11, 16)));
    chip.appendChild(el("span", "snip", ghost.rule));
    return chip;
  }

  function render() {
    var r = range();
    var calendar = $("calendar");
    calendar.textContent = "";
    calendar.setAttribute("data-view", state.view);
    var posts = state.data.posts;
    var ghosts = state.data.ghosts;
    var status = [t("timezone", { zone: state.me.timezone })];
    if (!posts.length && !ghosts.length) status.push(t("empty"));
    else status.push(t("drag_hint"));
    if (state.data.truncated) status.push(t("truncated"));
    $("status").textContent = status.join(" · ");
    var narrow = window.innerWidth < 480;
    if (state.view === "week") {
      var last = addDays(r.first, 6);
      var lastFormat = narrow
        ? { day: "numeric", month: "short" }
        : { day: "numeric", month: "short", year: "numeric" };
      $("range").textContent =
        fmt(r.first, { day: "numeric", month: "short" }) + " – " + fmt(last, lastFormat);
      renderWeek(calendar, r.first, byDay(posts), byDay(ghosts));
    } else {
      $("range").textContent = fmt(r.month, { month: narrow ? "short" : "long", year: "numeric" });
      renderMonth(calendar, r, byDay(posts), byDay(ghosts));
    }
  }

  function renderWeek(calendar, monday, posts, ghosts) {
    var head = el("div", "week-head");
    head.appendChild(el("div"));
    var body = el("div", "week-body");
    var gutter = el("div", "gutter");
    for (var h = 1; h < 24; h++) {
      var label = el("span", null, pad(h) + ":00");
      label.style.top = h * HOUR_PX + "px";
      gutter.appendChild(label);
    }
    body.appendChild(gutter);
    var now = state.me.now_local;
    var earliest = 24 * 60;
    for (var i = 0; i < 7; i++) {
      var date = addDays(monday, i);
      var day = fmtDay(date);
      var cell = el("div", "day-head");
      cell.appendChild(document.createTextNode(fmt(date, { weekday: "short" })));
      cell.appendChild(el("b", null, String(date.getUTCDate())));
      var column = el("div", "day-col");
      column.setAttribute("data-date", day);
      if (day === today()) {
        cell.classList.add("is-today");
        column.classList.add("is-today");
        var line = el("div", "now-line");
        line.style.top = (minutesOf(now) * HOUR_PX) / 60 + "px";
        column.appendChild(line);
      } else if (day < today()) {
        column.classList.add("is-past");
      }
      head.appendChild(cell);
      var items = (ghosts[day] || []).map(function (g) { return { ghost: g, local: g.local }; })
        .concat((posts[day] || []).map(function (p) { return { post: p, local: p.local }; }));
      items.sort(function (a, b) { return a.local < b.local ? -1 : a.local > b.local ? 1 : 0; });
      layoutColumn(column, items);
      items.forEach(function (item) { earliest = Math.min(earliest, minutesOf(item.local)); });
      body.appendChild(column);
    }
    calendar.appendChild(head);
    calendar.appendChild(body);
    // The day names stay under the sticky bar while the hours scroll.
    document.documentElement.style.setProperty("--bar-h", $("main").offsetTop + "px");
    if (!state.scrolled) {
      state.scrolled = true;
      var hour = Math.max(0, Math.min(Math.floor(earliest / 60), 8) - 1);
      window.scrollTo(0, body.offsetTop + hour * HOUR_PX - $("calendar").offsetTop);
    }
  }

  // Chips that overlap in time share the column's width.
  function layoutColumn(column, items) {
    var span = 30;
    var cluster = [];
    var clusterEnd = -1;
    function flush() {
      cluster.forEach(function (chip, index) {
        chip.style.left = (index * 100) / cluster.length + "%";
        chip.style.width = 100 / cluster.length + "%";
        chip.style.right = "auto";
      });
      cluster = [];
    }
    items.forEach(function (item) {
      var start = minutesOf(item.local);
      if (start >= clusterEnd) flush();
      var chip = item.post ? postChip(item.post) : ghostChip(item.ghost);
      chip.style.top = (start * HOUR_PX) / 60 + "px";
      chip.style.height = HOUR_PX / 2 - 1 + "px";
      column.appendChild(chip);
      cluster.push(chip);
      clusterEnd = Math.max(clusterEnd, start + span);
    });
    flush();
  }

  function renderMonth(calendar, r, posts, ghosts) {
    var grid = el("div", "month-grid");
    for (var d = 0; d < 7; d++) {
      grid.appendChild(el("div", "month-dow", fmt(addDays(r.first, d), { weekday: "short" })));
    }
    var month = r.month.getUTCMonth();
    var limit = window.innerWidth < 500 ? 3 : 4;
    for (var i = 0; i < r.days; i++) {
      var date = addDays(r.first, i);
      var day = fmtDay(date);
      var cell = el("div", "cell");
      cell.setAttribute("data-date", day);
      if (date.getUTCMonth() !== month) cell.classList.add("other-month");
      if (day === today()) cell.classList.add("is-today");
      cell.appendChild(el("span", "num", String(date.getUTCDate())));
      var items = (posts[day] || []).map(postChip).concat((ghosts[day] || []).map(ghostChip));
      items.slice(0, limit).forEach(function (chip) { cell.appendChild(chip); });
      if (items.length > limit) cell.appendChild(el("div", "more", "+" + (items.length - limit)));
      grid.appendChild(cell);
    }
    calendar.appendChild(grid);
  }

  // ---------- dragging (pointer events: mouse, pen and touch alike) ----------

  var drag = null;

  function onPointerDown(event) {
    var chip = event.target.closest ? event.target.closest(".chip") : null;
    if (!chip || event.button > 0 || state.busy) return;
    var rect = chip.getBoundingClientRect();
    drag = {
      chip: chip,
      pointerId: event.pointerId,
      x: event.clientX,
      y: event.clientY,
      dx: event.clientX - rect.left,
      dy: event.clientY - rect.top,
      moving: false,
      float: null,
      over: null,
    };
  }

  function dropTarget(event) {
    var node = document.elementFromPoint(event.clientX, event.clientY);
    return node && node.closest ? node.closest(".day-col, .cell") : null;
  }

  function onPointerMove(event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    if (!drag.moving) {
      if (!drag.chip.classList.contains("draggable")) return;
      if (Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) < 6) return;
      drag.moving = true;
      var rect = drag.chip.getBoundingClientRect();
      drag.float = drag.chip.cloneNode(true);
      drag.float.classList.add("drag-float");
      drag.float.style.width = rect.width + "px";
      drag.float.style.height = rect.height + "px";
      drag.float.style.left = "0";
      drag.float.style.top = "0";
      document.body.appendChild(drag.float);
      drag.chip.classList.add("dragging");
    }
    event.preventDefault();
    drag.float.style.transform =
      "translate(" + (event.clientX - drag.dx) + "px," + (event.clientY - drag.dy) + "px)";
    var over = dropTarget(event);
    if (over !== drag.over) {
      if (drag.over) drag.over.classList.remove("drop-here");
      if (over) over.classList.add("drop-here");
      drag.over = over;
    }
  }

  function endDrag() {
    if (!drag) return;
    if (drag.float) drag.float.remove();
    if (drag.over) drag.over.classList.remove("drop-here");
    drag.chip.classList.remove("dragging");
    drag = null;
  }

  function onPointerUp(event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    var current = drag;
    if (!current.moving) {
      endDrag();
      if (current.chip.classList.contains("ghost")) {
        toast(current.chip.title);
      } else {
        openPost(Number(current.chip.getAttribute("data-id")));
      }
      return;
    }
    var over = dropTarget(event);
    var before = current.chip.getAttribute("data-local");
    var local = null;
    if (over && over.classList.contains("day-col")) {
      var top = event.clientY - current.dy - over.getBoundingClientRect().top;
      var minutes = Math.round((top / HOUR_PX) * 60 / SNAP_MINUTES) * SNAP_MINUTES;
      minutes = Math.max(0, Math.min(24 * 60 - SNAP_MINUTES, minutes));
      local = over.getAttribute("data-date") + "T" + hhmm(minutes);
    } else if (over && over.classList.contains("cell")) {
      local = over.getAttribute("data-date") + "T" + before.slice(11, 16);
    }
    endDrag();
    if (!local || local === before) return;
    act(Number(current.chip.getAttribute("data-id")), "reschedule", { local: local });
  }

  // ---------- a post ----------

  function act(id, action, body) {
    state.busy = true;
    return api("POST", "posts/" + id + "/" + action, body || {})
      .then(function (detail) {
        haptic("success");
        var done = {
          "publish-now": "done_publish_now",
          reschedule: "done_reschedule",
          cancel: "done_cancel",
          duplicate: "done_duplicate",
          retry: "done_retry",
        }[action];
        toast(t(done, { id: detail.id }));
        if (state.sheetOpen) showPost(detail);
        return load();
      })
      .catch(function (error) {
        haptic("error");
        toast(errorText(error), true);
        return load();
      })
      .then(function () { state.busy = false; });
  }

  function openPost(id) {
    api("GET", "posts/" + id)
      .then(showPost)
      .catch(function (error) { toast(errorText(error), true); });
  }

  function row(list, label, value) {
    list.appendChild(el("dt", null, label));
    var dd = el("dd");
    if (typeof value === "string") dd.textContent = value;
    else dd.appendChild(value);
    list.appendChild(dd);
  }

  function badge(post) {
    var node = el("span", "badge " + statusClass(post), t("status_" + post.status));
    if (post.queued) node.textContent += " · " + t("status_queued");
    return node;
  }

  function showPost(post) {
    var body = $("sheet-body");
    body.textContent = "";
    body.setAttribute("data-post", String(post.id));
    body.appendChild(el("h2", null, "#" + post.id + (post.title ? " · " + post.title : "")));
    body.appendChild(badge(post));

    body.appendChild(el("div", "preview-label", t("preview")));
    var preview = el("div", "preview");
    preview.appendChild(el("div", "channel", post.target.title));
    if (post.pictures) preview.appendChild(el("div", "pics", "🖼 " + t("pictures", { n: post.pictures })));
    var text = el("div", "body");
    // Sanitised by the server (webapp/html.py): Telegram's tags only, all else escaped.
    text.innerHTML = post.html;
    text.addEventListener("click", function (event) {
      var spoiler = event.target.closest(".tg-spoiler");
      if (spoiler) spoiler.classList.toggle("open");
    });
    preview.appendChild(text);
    if (post.buttons.length) {
      var buttons = el("div", "url-buttons");
      post.buttons.forEach(function (b) { buttons.appendChild(el("span", null, b.text)); });
      preview.appendChild(buttons);
    }
    body.appendChild(preview);

    var meta = el("dl", "meta");
    row(meta, t("target"), post.target.title + " (" + post.target.platform + ")");
    row(meta, t("time"), post.local.replace("T", " ") + " · " + state.me.timezone);
    if (post.attempts) row(meta, t("attempts"), String(post.attempts));
    if (post.error_code) row(meta, "⚠️", t("reason", { code: (state.failures && state.failures[post.error_code]) || post.error_code }));
    var flags = [];
    if (post.silent) flags.push(t("silent"));
    if (post.pinned) flags.push(t("pinned"));
    if (flags.length) row(meta, "Telegram", flags.join(", "));
    if (post.external_url && /^https:\/\//.test(post.external_url)) {
      var link = el("a", null, t("link"));
      link.href = post.external_url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      row(meta, "↗", link);
    }
    body.appendChild(meta);

    var actions = el("div", "actions");
    var labels = {
      "publish-now": "action_publish_now",
      reschedule: "action_reschedule",
      cancel: "action_cancel",
      duplicate: "action_duplicate",
      retry: "action_retry",
    };
    post.actions.forEach(function (action) {
      var button = el("button", action === "cancel" ? "danger" : action === "duplicate" ? "plain" : "", t(labels[action]));
      button.type = "button";
      button.setAttribute("data-action", action);
      button.addEventListener("click", function () { onAction(post, action); });
      actions.appendChild(button);
    });
    var wa = webApp();
    if (wa && wa.close) {
      var edit = el("button", "plain", t("action_edit"));
      edit.type = "button";
      edit.addEventListener("click", function () { wa.close(); });
      actions.appendChild(edit);
    }
    var close = el("button", "plain", t("close"));
    close.type = "button";
    close.setAttribute("data-action", "close");
    close.addEventListener("click", closeSheet);
    actions.appendChild(close);
    body.appendChild(actions);

    $("sheet").hidden = false;
    state.sheetOpen = true;
    if (wa && wa.BackButton && wa.BackButton.show) wa.BackButton.show();
  }

  function timeForm(post, action) {
    var old = $("time-form");
    if (old) old.remove();
    var form = el("form", "form");
    form.id = "time-form";
    var label = el("label", null, t(action === "duplicate" ? "copy_time" : "new_time", { zone: state.me.timezone }));
    var input = el("input");
    input.type = "datetime-local";
    input.required = true;
    var start = action === "duplicate"
      ? fmtDay(addDays(parseDay(post.local.slice(0, 10)), 1)) + post.local.slice(10, 16)
      : post.local.slice(0, 16);
    input.value = start;
    label.setAttribute("for", "time-input");
    input.id = "time-input";
    var save = el("button", null, t("save"));
    save.type = "submit";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(save);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (input.value) act(post.id, action, { local: input.value.slice(0, 16) });
    });
    $("sheet-body").appendChild(form);
    input.focus();
  }

  function onAction(post, action) {
    if (action === "reschedule" || action === "duplicate") {
      timeForm(post, action);
      return;
    }
    if (action === "cancel") {
      var wa = webApp();
      if (wa && wa.showConfirm) {
        wa.showConfirm(t("confirm_cancel"), function (ok) { if (ok) act(post.id, action); });
      } else if (window.confirm(t("confirm_cancel"))) {
        act(post.id, action);
      }
      return;
    }
    act(post.id, action);
  }

  function closeSheet() {
    $("sheet").hidden = true;
    state.sheetOpen = false;
    var wa = webApp();
    if (wa && wa.BackButton && wa.BackButton.hide) wa.BackButton.hide();
  }

  // ---------- navigation ----------

  function shift(direction) {
    var anchor = parseDay(state.anchor);
    if (state.view === "week") {
      state.anchor = fmtDay(addDays(anchor, 7 * direction));
    } else {
      var moved = new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() + direction, 1));
      state.anchor = fmtDay(moved);
    }
    load();
  }

  function wire() {
    $("prev").addEventListener("click", function () { if (state.me) shift(-1); });
    $("next").addEventListener("click", function () { if (state.me) shift(1); });
    $("today").addEventListener("click", function () {
      if (!state.me) return;
      state.anchor = today();
      load();
    });
    ["view-week", "view-month"].forEach(function (id) {
      $(id).addEventListener("click", function () {
        if (!state.me) return;
        state.view = $(id).getAttribute("data-view");
        markView();
        load();
      });
    });
    $("target").addEventListener("change", function () {
      state.target = $("target").value;
      load();
    });
    var calendar = $("calendar");
    calendar.addEventListener("pointerdown", onPointerDown);
    window.addEventListener("pointermove", onPointerMove, { passive: false });
    window.addEventListener("pointerup", onPointerUp);
    window.addEventListener("pointercancel", endDrag);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && state.sheetOpen) closeSheet();
    });
  }

  function boot() {
    themeFromFragment();
    wire();
    var wa = webApp();
    state.initData = (wa && wa.initData) || fragment().get("tgWebAppData") || "";
    loadTelegram();
    if (state.initData && !state.started) start();
    else if (!state.initData) {
      // Telegram's script may still bring initData; say so only if it does not.
      setTimeout(function () { if (!state.started) start(); }, 3000);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
