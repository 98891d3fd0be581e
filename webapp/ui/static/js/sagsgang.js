// Sagsgang's own script: small on purpose. Pages work without it; it adds the process diagram
// and moves focus to a form's error summary. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";

  function focusErrorSummary() {
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
  }

  function showDiagram(container) {
    if (!window.BpmnJS || container.dataset.loaded) {
      return;
    }
    container.dataset.loaded = "1";
    var words = function (value) { return (value || "").split(" ").filter(Boolean); };
    var active = words(container.dataset.active);
    var completed = words(container.dataset.completed);
    fetch(container.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (xml) {
        container.textContent = "";
        var viewer = new window.BpmnJS({ container: container });
        return viewer.importXML(xml).then(function () {
          var canvas = viewer.get("canvas");
          var registry = viewer.get("elementRegistry");
          completed.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "sg-completed"); } });
          active.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "sg-active"); } });
          canvas.zoom("fit-viewport", "auto");
          // On a narrow screen the whole process is too small to read: show the current task.
          var current = active.map(function (id) { return registry.get(id); }).filter(Boolean)[0];
          if (current && container.clientWidth < 600 && canvas.zoom() < 0.7) {
            canvas.zoom(0.8);
            canvas.scrollToElement(current, { top: 60, bottom: 60, left: 40, right: 40 });
          }
          container.classList.add("diagram-ready");
        });
      })
      .catch(function (error) {
        container.classList.add("diagram-failed");
        container.setAttribute("data-error", String(error));
      });
  }

  function init(root) {
    (root || document).querySelectorAll(".diagram[data-src]").forEach(showDiagram);
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    init(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
})();
