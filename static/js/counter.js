// The counter page's keys (a USB numeric keypad works with no driver) and its service timer.
// Buttons come from the server through htmx; a key only clicks the button of the same action,
// so it does exactly what the button does, and nothing when that button is disabled.
(function () {
  "use strict";
  const keys = { "+": "next", "*": "recall", "-": "no-show", "Enter": "finish", "/": "pause-toggle" };

  function typing(target) {
    return target && (target.isContentEditable ||
      ["INPUT", "SELECT", "TEXTAREA"].indexOf(target.tagName) >= 0);
  }

  function press(action) {
    if (action === "pause-toggle") {
      press(document.querySelector("[data-action=pause]") ? "pause" : "resume");
      return;
    }
    const button = document.querySelector("#panel [data-action='" + action + "']");
    if (button && !button.disabled) { button.click(); }
  }

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey) { return; }
    if (typing(e.target)) {
      if (e.key === "Escape") { e.target.blur(); }
      return;  // never fire while the clerk types in a field (Enter submits that field's form)
    }
    if (e.key === ".") {
      const field = document.getElementById("call-number");
      if (field && !field.disabled) { e.preventDefault(); field.focus(); }
      return;
    }
    const action = keys[e.key];
    if (action) { e.preventDefault(); press(action); }
  });

  // The service timer ticks here; the server sends the seconds so far with every refresh.
  function timer() {
    const el = document.querySelector("#panel .timer");
    if (!el) { return; }
    if (el.dataset.start === undefined) { el.dataset.start = String(Date.now()); }
    const seconds = Number(el.dataset.since) + Math.floor((Date.now() - Number(el.dataset.start)) / 1000);
    el.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }
  setInterval(timer, 1000);

  // A session that ended (expired, another clerk took the counter): back to sign-in.
  document.addEventListener("htmx:responseError", (e) => {
    const status = e.detail.xhr.status;
    if (status === 401 || status === 403) {
      const page = document.querySelector(".counter-page");
      window.location.assign(page ? page.dataset.login : "/counter/");
    }
  });
  // Errors of an action come back as the panel with the reason: show them, not silence.
  document.addEventListener("htmx:beforeSwap", (e) => {
    const status = e.detail.xhr.status;
    const type = e.detail.xhr.getResponseHeader("Content-Type") || "";
    if (status >= 400 && status < 500 && type.indexOf("text/html") === 0 &&
        e.detail.target && e.detail.target.id === "panel") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
})();
