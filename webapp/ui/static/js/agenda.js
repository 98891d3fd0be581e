// Reorder a meeting's agenda by dragging an item's heading (SortableJS, vendored in
// static/vendor/sortable). Sortable runs on pointer events (forceFallback) rather than native HTML
// drag events: those are not fired for every real mouse or touch drag, which left the list
// unsortable in Chromium. Dropping fills the page's order form and submits it; the server checks
// the page's version, so a stale page gets a clear message instead of a reshuffle. Without
// JavaScript, or from the keyboard, the Up and Down buttons on each item do the same.
(function () {
  "use strict";

  function init() {
    var list = document.querySelector("ol.sortable");
    var form = document.getElementById("order-form");
    if (!list || !form || typeof window.Sortable !== "function") { return; }
    window.Sortable.create(list, {
      draggable: "li[data-item-id]",
      handle: ".drag-handle",
      forceFallback: true,
      fallbackOnBody: true,
      animation: 120,
      ghostClass: "dragging",
      dataIdAttr: "data-item-id",
      onEnd: function (event) {
        if (event.oldIndex === event.newIndex) { return; }
        var order = Array.prototype.map.call(list.querySelectorAll("li[data-item-id]"),
          function (li) { return li.dataset.itemId; });
        form.querySelector("input[name=order]").value = order.join(",");
        list.setAttribute("aria-busy", "true");
        form.submit();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
