// Huntwatch portal: small progressive enhancements. Every page works without this file.
"use strict";

(function () {
  // Advanced hunting: insert schema names at the cursor, Ctrl+Enter runs the query.
  const editor = document.getElementById("sql");
  if (editor) {
    document.querySelectorAll("button.insert").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        const text = button.dataset.insert || "";
        const start = editor.selectionStart, end = editor.selectionEnd;
        editor.setRangeText(text, start, end, "end");
        editor.focus();
      });
    });
    editor.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        document.getElementById("hunt-form").requestSubmit();
      }
    });
  }

  // Result grids: sort by a column when its header is pressed (numbers numerically).
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("button.sort").forEach(function (button) {
      button.addEventListener("click", function () {
        const col = Number(button.dataset.col);
        const body = table.tBodies[0];
        const ascending = button.dataset.dir !== "asc";
        table.querySelectorAll("button.sort").forEach(function (b) { delete b.dataset.dir; b.removeAttribute("aria-sort"); });
        button.dataset.dir = ascending ? "asc" : "desc";
        button.closest("th").setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const rows = Array.from(body.rows);
        rows.sort(function (a, b) {
          const x = a.cells[col].textContent, y = b.cells[col].textContent;
          const nx = Number(x), ny = Number(y);
          const cmp = (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return ascending ? cmp : -cmp;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  // Actions menus close with Escape and when focus or a click goes elsewhere.
  document.querySelectorAll("details.actions").forEach(function (menu) {
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { menu.open = false; menu.querySelector("summary").focus(); }
    });
    document.addEventListener("click", function (event) {
      if (!menu.contains(event.target)) { menu.open = false; }
    });
  });
})();
