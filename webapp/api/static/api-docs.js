// Start Swagger UI on the page's element, with the OpenAPI document it names (no inline script:
// the Content-Security-Policy allows scripts from this site only).
window.addEventListener("DOMContentLoaded", function () {
  var element = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: element.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
  });
});
