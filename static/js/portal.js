// tokenportal: live counts, creation progress and the live campaign page without reloading.
// The pages work without this script (except the subband map, drawn here); it keeps them fresh.
(function () {
  "use strict";
  var STATES = ["todo", "locked", "done", "error"];
  // A creation that has not moved for this many polls has stopped (the server restarted).
  var STALLED_AFTER_POLLS = 15;
  // As MIN_SEGMENT in tokens_app/templatetags/campaigns.py: a state with tokens stays visible.
  var MIN_SEGMENT = 1.5;
  var MAP_STATES = { t: "todo", l: "locked", d: "done", e: "error" };

  // Halves rounded up, in integers, as percent() in campaigns.py: both print the same figure.
  function percent(part, total) {
    return total ? Math.floor((2000 * part + total) / (2 * total)) / 10 : 0;
  }

  // As bar_widths() in campaigns.py.
  function barWidths(counts) {
    var shares = STATES.map(function (state) { return counts.total ? (100 * counts[state]) / counts.total : 0; });
    var small = shares.map(function (share) { return share > 0 && share < MIN_SEGMENT; });
    var largeTotal = 0, smallCount = 0;
    shares.forEach(function (share, i) { if (small[i]) smallCount += 1; else largeTotal += share; });
    var room = 100 - MIN_SEGMENT * smallCount;
    return shares.map(function (share, i) {
      var width = small[i] ? MIN_SEGMENT : (largeTotal ? (share * room) / largeTotal : 0);
      return Math.round(width * 10) / 10;
    });
  }

  function redrawBar(bar, counts) {
    var unavailable = bar.querySelector(".unavailable");
    if (unavailable) unavailable.hidden = counts !== null;
    if (counts === null) return;
    var labels = [], offset = 0, widths = barWidths(counts);
    STATES.forEach(function (state, i) {
      var segment = bar.querySelector('[data-state="' + state + '"]');
      var count = bar.querySelector('[data-count="' + state + '"]');
      var width = widths[i];
      if (segment) {
        segment.setAttribute("x", offset.toFixed(1));
        segment.setAttribute("width", width.toFixed(1));
        segment.querySelector("title").textContent = counts[state] + " " + state;
      }
      offset += width;
      if (count) count.textContent = counts[state];
      labels.push(counts[state] + " " + state);
    });
    bar.querySelector('[data-count="total"]').textContent = counts.total;
    bar.querySelector('[data-count="percent"]').textContent = percent(counts.done, counts.total).toFixed(1);
    bar.querySelector(".bar").setAttribute("aria-label", labels.join(", "));
  }

  // A campaign made since the list was drawn: the list is drawn again from the page's own URL
  // (its filters kept), and polled from there on.
  function redrawList(section) {
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById(section.id);
        if (!fresh) return false;
        section.replaceWith(fresh);
        pollCounts(fresh);
        return true;
      });
  }

  function pollCounts(section) {
    var url = section.getAttribute("data-counts-url");
    var every = 1000 * Number(section.getAttribute("data-poll-seconds") || 5);
    var newest = Number(section.getAttribute("data-newest") || 0);
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) return false;
          if (data.newest > newest) return redrawList(section);
          Object.keys(data.campaigns).forEach(function (id) {
            document.querySelectorAll('.state-bar[data-campaign="' + id + '"]').forEach(function (bar) {
              redrawBar(bar, data.campaigns[id]);
            });
          });
          Object.keys(data.labels || {}).forEach(function (id) {
            var label = document.querySelector('[data-label-for="' + id + '"]');
            if (label) label.textContent = data.labels[id];
          });
          Object.keys(data.paces || {}).forEach(function (id) {
            var pace = document.querySelector('[data-pace-for="' + id + '"]');
            var stalled = document.querySelector('[data-stalled-for="' + id + '"]');
            if (pace) pace.textContent = data.paces[id].text;
            if (stalled) stalled.hidden = !data.paces[id].stalled;
          });
          return false;
        })
        .catch(function () { return false; /* the next tick tries again */ })
        .then(function (redrawn) { if (!redrawn) window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }

  function pollCreation(section) {
    var url = section.getAttribute("data-status-url");
    var every = 1000 * Number(section.getAttribute("data-poll-seconds") || 2);
    var progress = section.querySelector("progress");
    var written = section.querySelector('[data-status="written_count"]');
    var note = section.querySelector('[data-status="note"]');
    var last = null, unchanged = 0;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (!status) return true;
          if (status.status !== "creating" && status.status !== "incomplete") {
            window.location.reload();
            return false;
          }
          progress.max = status.token_count || 1;
          progress.value = status.written_count;
          written.textContent = status.written_count;
          unchanged = status.written_count === last ? unchanged + 1 : 0;
          last = status.written_count;
          if (unchanged >= STALLED_AFTER_POLLS) {
            note.textContent = "No progress for a while: the creation has stopped. Write the missing tokens to complete it.";
            return false;
          }
          return true;
        })
        .catch(function () { return true; })
        .then(function (again) { if (again) window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }

  function color(state) {
    return window.getComputedStyle(document.documentElement).getPropertyValue("--" + state).trim() || "#999";
  }

  // The subband map: one cell a token at (row, column) from the status API, coloured by state.
  function drawMap(canvas, info, map) {
    var frame = canvas.parentNode;
    var ratio = window.devicePixelRatio || 1;
    var width = frame.clientWidth;
    var count = map.keys.length;
    if (!count) {
      canvas.hidden = true;
      info.textContent = "No tokens.";
      return;
    }
    canvas.hidden = false;
    var ctx = canvas.getContext("2d");
    ctx.font = "11px ui-monospace, monospace";
    var labelWidth = 12 + map.labels.reduce(function (widest, label) {
      return Math.max(widest, ctx.measureText(label[1].slice(map.prefix.length) || label[1]).width);
    }, 0);
    labelWidth = Math.min(labelWidth, width / 3);
    var cell = (width - labelWidth) / map.columns;
    // Tall campaigns get flatter rows, so 20,000 tokens stay one screen high.
    var rowHeight = Math.max(2, Math.min(cell, 14, 640 / Math.max(map.rows, 1)));
    var height = Math.ceil(rowHeight * map.rows) + 4;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    var colors = {};
    Object.keys(MAP_STATES).forEach(function (letter) { colors[letter] = color(MAP_STATES[letter]); });
    var gap = cell > 4 && rowHeight > 4 ? 1 : 0;
    // Positions without a token are drawn pale: a gap in the list reads as a gap, not as paper.
    ctx.fillStyle = color("line") || "#eee";
    var rowsUsed = {};
    for (var r = 0; r < count; r += 1) rowsUsed[map.cells[2 * r]] = true;
    Object.keys(rowsUsed).forEach(function (row) {
      ctx.fillRect(labelWidth, row * rowHeight, map.columns * cell - gap, Math.max(rowHeight - gap, 1));
    });
    var place = {};
    for (var i = 0; i < count; i += 1) {
      var row = map.cells[2 * i], column = map.cells[2 * i + 1];
      place[row * map.columns + column] = i;
      ctx.fillStyle = colors[map.states[i]] || colors.t;
      ctx.fillRect(labelWidth + column * cell, row * rowHeight, Math.max(cell - gap, 1), Math.max(rowHeight - gap, 1));
    }
    ctx.fillStyle = color("muted") || "#555";
    ctx.textBaseline = "middle";
    var lastY = -Infinity;
    map.labels.forEach(function (label) {
      // The first label is kept whole even when rows are flat.
      var y = Math.max(label[0] * rowHeight + rowHeight / 2, 6);
      if (y - lastY < 12) return;
      lastY = y;
      ctx.fillText(label[1].slice(map.prefix.length) || label[1], 2, y);
    });
    var tally = { t: 0, l: 0, d: 0, e: 0 };
    for (var k = 0; k < count; k += 1) tally[map.states[k]] += 1;
    // What was drawn, for whoever reads the page without seeing it (and for the browser tests).
    canvas.setAttribute("data-drawn", ["t", "l", "d", "e"].map(function (letter) { return MAP_STATES[letter] + ":" + tally[letter]; }).join(" "));
    canvas.setAttribute("aria-label", "Subband map: " + count + " tokens, " + tally.t + " todo, " + tally.l + " locked, " + tally.d + " done, " + tally.e + " error");
    var missing = Object.keys(rowsUsed).length * map.columns - count;
    var summary = count + " tokens, " + map.columns + " to a row; ids start " + map.prefix +
      (missing > 0 ? "; pale cells: no token (a gap in the list, or the end of a row)" : "");
    info.textContent = summary;
    function at(event) {
      var box = canvas.getBoundingClientRect();
      var column = Math.floor((event.clientX - box.left - labelWidth) / cell);
      var row = Math.floor((event.clientY - box.top) / rowHeight);
      if (column < 0 || column >= map.columns) return null;
      var index = place[row * map.columns + column];
      return index === undefined ? null : index;
    }
    canvas.onmousemove = function (event) {
      var index = at(event);
      var text = index === null ? summary : map.prefix + map.keys[index] + ": " + MAP_STATES[map.states[index]];
      info.textContent = text;
      canvas.title = index === null ? "" : text;
      canvas.style.cursor = index === null ? "default" : "pointer";
    };
    canvas.onclick = function (event) {
      var index = at(event);
      if (index === null) return;
      window.location.href = canvas.getAttribute("data-token-url").replace("TOKEN", encodeURIComponent(map.prefix + map.keys[index]));
    };
  }

  // The campaign page: one request refreshes every part that depends on the counts.
  function pollLive(root) {
    var url = root.getAttribute("data-live-url");
    var every = 1000 * Number(root.getAttribute("data-poll-seconds") || 5);
    var canvas = root.querySelector("[data-map]");
    var info = root.querySelector("[data-map-info]");
    // The page is as fresh as its counts: the first request asks only for the map ("now").
    var known = root.getAttribute("data-known"), lastMap = null;
    function tick() {
      var params = new URLSearchParams(window.location.search);
      var query = new URLSearchParams();
      ["view", "page", "q", "order", "after", "before", "range", "since", "until"].forEach(function (name) { if (params.get(name)) query.set(name, params.get(name)); });
      if (known) query.set("known", known);
      if (canvas) query.set("map", lastMap ? "1" : "now");
      fetch(url + "?" + query.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data || data.counts === undefined) return;
          root.querySelectorAll(".state-bar").forEach(function (bar) { redrawBar(bar, data.counts); });
          var label = document.querySelector('[data-live="label"]');
          if (label && data.label) label.textContent = data.label;
          if (data.signature) known = data.signature;
          if (data.html) {
            Object.keys(data.html).forEach(function (name) {
              var part = root.querySelector('[data-live="' + name + '"]');
              if (part) part.innerHTML = data.html[name];
            });
          }
          if (data.map && canvas) {
            lastMap = data.map;
            drawMap(canvas, info, lastMap);
          }
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { window.setTimeout(tick, every); });
    }
    if (canvas) {
      window.addEventListener("resize", function () { if (lastMap) drawMap(canvas, info, lastMap); });
    }
    tick();
  }

  document.querySelectorAll("[data-counts-url]").forEach(pollCounts);
  document.querySelectorAll("[data-live-url]").forEach(pollLive);
  document.querySelectorAll("[data-status-url]").forEach(pollCreation);
})();
