// tokenportal: live counts and creation progress without reloading the page.
// The pages work without this script; it only keeps their numbers fresh.
(function () {
  "use strict";
  var STATES = ["todo", "locked", "done", "error"];
  // A creation that has not moved for this many polls has stopped (the server restarted).
  var STALLED_AFTER_POLLS = 15;

  function percent(part, total) {
    return total ? Math.round((1000 * part) / total) / 10 : 0;
  }

  function redrawBar(bar, counts) {
    var unavailable = bar.querySelector(".unavailable");
    if (unavailable) unavailable.hidden = counts !== null;
    if (counts === null) return;
    var labels = [], offset = 0;
    STATES.forEach(function (state) {
      var segment = bar.querySelector('[data-state="' + state + '"]');
      var count = bar.querySelector('[data-count="' + state + '"]');
      var width = percent(counts[state], counts.total);
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

  function pollCounts(section) {
    var url = section.getAttribute("data-counts-url");
    var every = 1000 * Number(section.getAttribute("data-poll-seconds") || 5);
    if (/ids=$/.test(url)) return;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) return;
          Object.keys(data.campaigns).forEach(function (id) {
            document.querySelectorAll('.state-bar[data-campaign="' + id + '"]').forEach(function (bar) {
              redrawBar(bar, data.campaigns[id]);
            });
          });
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { window.setTimeout(tick, every); });
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

  document.querySelectorAll("[data-counts-url]").forEach(pollCounts);
  document.querySelectorAll("[data-status-url]").forEach(pollCreation);
})();
