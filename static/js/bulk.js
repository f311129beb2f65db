// The bulk page (/admin/bulk): a refused preview or confirmation comes back as the panel with
// the error next to its field (status 400, 404 or 409): show it, and put the focus on that
// field, so the keyboard goes on from where the problem is.
(() => {
  "use strict";

  document.addEventListener("htmx:beforeSwap", (e) => {
    const status = e.detail.xhr.status;
    const type = e.detail.xhr.getResponseHeader("Content-Type") || "";
    const target = e.detail.target;
    if (status >= 400 && status < 500 && type.indexOf("text/html") === 0 &&
        target && target.id === "bulk-panel") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", (e) => {
    if (!e.detail.target || e.detail.target.id !== "bulk-panel") { return; }
    const wrong = e.detail.target.querySelector("[aria-invalid=true]");
    const done = e.detail.target.querySelector("#bulk-message");
    if (wrong) {
      wrong.focus();
    } else if (done && !e.detail.target.querySelector("[autofocus]")) {
      done.setAttribute("tabindex", "-1");
      done.focus();
    }
  });
})();
