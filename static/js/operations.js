// tokenportal: the campaign page follows its running operation (progress bar, state, its place
// in the queue, a wait for CouchDB) and reloads once the operation has ended, to show the result
// and the new counts.
(function () {
  "use strict";
  var ACTIVE = ["queued", "running"];

  // "waiting for CouchDB since T", T as the page writes it (the portal's time zone is UTC).
  function showWait(element, since) {
    element.hidden = !since;
    if (!since) { element.textContent = ""; return; }
    var time = element.querySelector("time") || document.createElement("time");
    if (time.getAttribute("datetime") === since) return;
    time.setAttribute("datetime", since);
    time.textContent = new Date(since).toISOString().slice(0, 19).replace("T", " ");
    element.textContent = "waiting for CouchDB since ";
    element.appendChild(time);
  }

  function follow(section) {
    var url = section.getAttribute("data-operation-url");
    var every = 1000 * Number(section.getAttribute("data-poll-seconds") || 1);
    var id = null;
    var bar = section.querySelector("progress");
    var processed = section.querySelector('[data-operation="processed"]');
    var total = section.querySelector('[data-operation="total"]');
    var state = section.querySelector('[data-operation="state"]');
    var place = section.querySelector('[data-operation="place"]');
    var waiting = section.querySelector('[data-operation="waiting"]');
    if (ACTIVE.indexOf(section.getAttribute("data-operation-state")) < 0) return;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (!status) return true;
          var operation = status.operation;
          if (!operation || ACTIVE.indexOf(operation.state) < 0 || (id !== null && operation.id !== id)) {
            window.location.reload();
            return false;
          }
          id = operation.id;
          if (operation.total !== null) {
            bar.max = operation.total || 1;
            if (total) total.textContent = operation.total;
          }
          bar.value = operation.processed;
          processed.textContent = operation.processed;
          state.textContent = operation.state;
          place.textContent = operation.place || "";
          place.hidden = !operation.place;
          showWait(waiting, operation.state === "running" ? operation.waiting_since : null);
          return true;
        })
        .catch(function () { return true; })
        .then(function (again) { if (again) window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }

  document.querySelectorAll("[data-operation-url]").forEach(follow);
})();
