// The counter page's keys (a USB numeric keypad works with no driver) and its service timer.
// Buttons come from the server through htmx; a key only clicks the button of the same action,
// so it does exactly what the button does, and nothing when that button is disabled.
(function () {
  "use strict";

  // A part drawn at event data-seen skips a stream's first frame that is no newer (nothing to
  // fetch again); caught before htmx sees it.
  document.addEventListener("sse:state", (e) => {
    if (e.detail && e.target.dataset && e.detail.lastEventId === e.target.dataset.seen) { e.stopPropagation(); }
  }, true);
  // key -> action, from the server's one list (hall/desk.py); "." starts typing a number.
  const page = document.querySelector(".counter-page");
  const keys = page && page.dataset.keys ? JSON.parse(page.dataset.keys) : {};

  // htmx wires up swapped-in forms only once they settle (20 ms later by default): a key or a
  // tap in between would submit the bare form natively and reload the page instead of acting.
  // Nothing here animates, so settle at once.
  if (window.htmx) { window.htmx.config.defaultSettleDelay = 0; }

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
    if (e.ctrlKey || e.altKey || e.metaKey || !document.getElementById("panel")) { return; }
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
      window.location.assign(page ? page.dataset.login : "/counter/");
    }
  });
  // Signing out: the session ends with that request, so no live refresh may go out after it
  // (it would come back "sign in first" and race the page's own way to the sign-in form).
  let leaving = false;
  document.addEventListener("submit", (e) => {
    if (e.target.closest && e.target.closest(".counter-head")) { leaving = true; }
  });
  window.addEventListener("pageshow", () => { leaving = false; });  // back from the cache
  document.addEventListener("htmx:beforeRequest", (e) => {
    if (leaving) { e.preventDefault(); }
  });

  // Errors of an action come back as the panel with the reason: show them, not silence.
  // The rating screen's refusals (too late, already rated) come back the same way.
  document.addEventListener("htmx:beforeSwap", (e) => {
    const status = e.detail.xhr.status;
    const type = e.detail.xhr.getResponseHeader("Content-Type") || "";
    const target = e.detail.target;
    if (status >= 400 && status < 500 && type.indexOf("text/html") === 0 &&
        target && (target.id === "panel" || target.id === "rate")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // A live refresh (the panel's own GET after any change in the hall, the press's own event
  // among them) must not undo what the clerk is doing: the last press's message stays until
  // the next press; a number being typed (and the focus), an open transfer panel and the
  // chosen outcome stay as they were.
  let kept = null;
  let blur = false;

  function keep(panel) {
    const field = panel.querySelector("#call-number");
    const transfer = panel.querySelector("details.transfer");
    const outcome = panel.querySelector("select[name=outcome]");
    const current = panel.querySelector("#current-number");
    const dossiers = panel.querySelector("#dossiers");
    return {
      dossiers: dossiers ? dossiers.value : "",
      dossiersFocused: dossiers !== null && document.activeElement === dossiers,
      said: panel.querySelector("#said"),
      current: current ? current.textContent : null,
      typed: field ? field.value : "",
      focused: field !== null && document.activeElement === field,
      open: transfer !== null && transfer.open,
      outcome: outcome ? outcome.value : null,
    };
  }

  function restore(panel, k) {
    if (k.said && !panel.querySelector("#said")) { panel.insertBefore(k.said, panel.firstChild); }
    const field = panel.querySelector("#call-number");
    if (field && !field.disabled) {
      if (k.typed) { field.value = k.typed; }
      if (k.focused) { field.focus(); field.setSelectionRange(k.typed.length, k.typed.length); }
    }
    const current = panel.querySelector("#current-number");
    if (!current || current.textContent !== k.current) { return; }  // another ticket now
    const transfer = panel.querySelector("details.transfer");
    if (k.open && transfer && !transfer.dataset.disabled) { transfer.open = true; }
    const outcome = panel.querySelector("select[name=outcome]");
    if (outcome && !outcome.disabled && k.outcome !== null) { outcome.value = k.outcome; }
    // Dossier codes scanned for this ticket survive a refresh (the scanner may be mid-code).
    const dossiers = panel.querySelector("#dossiers");
    if (dossiers && !dossiers.disabled && k.dossiers) {
      dossiers.value = k.dossiers;
      if (k.dossiersFocused) { dossiers.focus(); dossiers.setSelectionRange(k.dossiers.length, k.dossiers.length); }
    }
  }

  document.addEventListener("htmx:beforeSwap", (e) => {
    const target = e.detail.target;
    if (!target || target.id !== "panel" || !e.detail.shouldSwap) { return; }
    const config = e.detail.requestConfig;
    if (config && config.elt === target) {
      kept = keep(target);  // the panel's own refresh
    } else {
      // A press: once it worked, the keypad's keys are shortcuts again (a number called from
      // the field leaves it; htmx would put the focus back into the new, empty field).
      blur = e.detail.xhr.status < 400;
    }
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    const panel = document.getElementById("panel");
    if (!panel || e.detail.target !== panel) { return; }
    if (kept) { restore(panel, kept); kept = null; }
    if (blur) {
      blur = false;
      const active = document.activeElement;
      if (active && active.id === "call-number") { active.blur(); }
    }
  });

  // The citizen's thanks stays up a few seconds: the refresh its own "rated" event brings
  // would replace it at once; only a new question (the next service finished) may.
  const THANKS_MS = 5000;
  let thanked = 0;
  document.addEventListener("htmx:beforeSwap", (e) => {
    const target = e.detail.target;
    if (!target || target.id !== "rate" || Date.now() - thanked >= THANKS_MS) { return; }
    const response = String(e.detail.serverResponse || "");
    if (response.indexOf("rate-question") < 0) { e.detail.shouldSwap = false; }
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    const target = e.detail.target;
    if (target && target.id === "rate" && target.querySelector(".rate-thanks")) {
      thanked = Date.now();
    }
  });
})();
