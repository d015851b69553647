// itemize: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Tables with class "sortable": click a heading (or press Enter on it) to sort by that column.
  function cellValue(td) {
    var t = (td && td.textContent || "").trim();
    var n = t.replace(/,/g, "").replace(/%$/, "");
    return /^-?\d+(\.\d+)?$/.test(n) ? parseFloat(n) : t.toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, i) {
      th.classList.add("sortable-th");
      th.tabIndex = 0;
      function sort() {
        var body = table.tBodies[0];
        if (!body) return;
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a.cells[i]), y = cellValue(b.cells[i]);
          if (x < y) return asc ? -1 : 1;
          if (x > y) return asc ? 1 : -1;
          return 0;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", function (e) { if (e.target.tagName !== "A") sort(); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });
  // Print links.
  document.querySelectorAll("a.print").forEach(function (a) {
    a.addEventListener("click", function (e) { e.preventDefault(); window.print(); });
  });
  // Keyboard: "/" focuses the page's search or first filter; "g" then "o", "c", "a", "s", "i" go to pages.
  var pending = false;
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "/") {
      var f = document.querySelector("input[type=search], form.filters input, form.filters select");
      if (f) { e.preventDefault(); f.focus(); }
      return;
    }
    if (pending) {
      pending = false;
      var to = { o: "/", c: "/costs", a: "/assets", s: "/showback", i: "/imports", r: "/allocation/rules" }[e.key];
      if (to) window.location.href = to;
      return;
    }
    if (e.key === "g") pending = true;
  });
})();
