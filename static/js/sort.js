// Tables that show every row (the dashboard's campaigns) sort in the browser: a click on a
// column's header, or Enter on it, sorts by that column, a second one the other way round.
(function () {
  "use strict";

  function key(cell) {
    if (cell.hasAttribute("data-sort")) return cell.getAttribute("data-sort");
    // A progress bar sorts by its share done, which the page script keeps current.
    var percent = cell.querySelector("[data-count='percent']");
    return (percent || cell).textContent.trim();
  }

  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) return x - y;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function sortable(table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (header, column) {
      header.classList.add("sortable");
      header.tabIndex = 0;
      function sort() {
        var descending = header.getAttribute("aria-sort") === "ascending";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        header.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (first, second) {
          var order = compare(key(first.cells[column]), key(second.cells[column]));
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      header.addEventListener("click", sort);
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sort();
        }
      });
    });
  }

  document.querySelectorAll("table[data-sortable]").forEach(sortable);
})();
