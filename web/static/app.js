// Rampart's only script of its own: small accessibility helpers around
// htmx swaps. Everything works without it (and without htmx): forms post
// and redirect.
(function () {
  "use strict";
  // After htmx replaces a region, move the keyboard focus to it so that a
  // keyboard or screen-reader user is not left on a removed element.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var target = ev.detail && ev.detail.target;
    if (!target || !target.id || target.id === "progress") {
      return;
    }
    var region = document.getElementById(target.id);
    if (region) {
      if (!region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "-1");
      }
      region.focus({ preventScroll: true });
    }
  });
  // Revoking is not undone: ask first.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form && form.action && /\/exceptions\/\d+\/revoke$/.test(form.action)) {
      if (!window.confirm("Revoke this exception? Its tasks show again at once.")) {
        ev.preventDefault();
      }
    }
  }, true);
})();
