// Reorder a meeting's agenda by dragging items (native HTML drag events, no library). Dropping
// fills the page's order form and submits it; the server checks the page's version, so a stale
// page gets a clear message instead of a reshuffle. Without JavaScript, or from the keyboard, the
// Up and Down buttons on each item do the same.
(function () {
  "use strict";

  function init() {
    var list = document.querySelector("ol.sortable");
    var form = document.getElementById("order-form");
    if (!list || !form) { return; }
    var dragged = null;

    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("li[data-item-id]");
      if (!dragged) { return; }
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.itemId);
    });
    // Put the dragged item before or after the item under the pointer (by which half it is in).
    function place(event) {
      var over = event.target.closest("li[data-item-id]");
      if (!over || over === dragged) { return; }
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    }
    list.addEventListener("dragover", function (event) {
      if (!dragged) { return; }
      event.preventDefault();
      place(event);
    });
    list.addEventListener("drop", function (event) {
      if (!dragged) { return; }
      event.preventDefault();
      place(event);
      var order = Array.prototype.map.call(list.querySelectorAll("li[data-item-id]"),
        function (li) { return li.dataset.itemId; });
      dragged.classList.remove("dragging");
      dragged = null;
      form.querySelector("input[name=order]").value = order.join(",");
      form.submit();
    });
    list.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); dragged = null; }
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
