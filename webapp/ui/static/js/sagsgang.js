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

  // A file past the upload limit would make the whole request too large for the server to read,
  // and the page that answers could not keep what was typed: say so beside the field instead.
  function checkFileSizes(event) {
    var form = event.target;
    var tooLarge = null;
    form.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      var limit = Number(input.dataset.maxBytes);
      var old = input.parentNode.querySelector(".error-message.file-size");
      if (old) { old.remove(); }
      var big = Array.prototype.some.call(input.files || [], function (file) { return file.size > limit; });
      if (big) {
        var message = document.createElement("p");
        message.className = "error-message file-size";
        message.id = input.id + "-size-error";
        message.textContent = input.dataset.tooLarge;
        input.parentNode.insertBefore(message, input);
        input.setAttribute("aria-invalid", "true");
        var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        if (described.indexOf(message.id) < 0) { described.push(message.id); }
        input.setAttribute("aria-describedby", described.join(" "));
        tooLarge = tooLarge || input;
      }
    });
    if (tooLarge) {
      event.preventDefault();
      tooLarge.focus();
    }
  }

  function init(root) {
    (root || document).querySelectorAll(".diagram[data-src]").forEach(showDiagram);
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    init(document);
  });
  document.addEventListener("submit", checkFileSizes);
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
})();
