// The kiosk's small habits: on-screen keyboard, idle return, and reconnecting by itself.
// Screens come from the server through htmx; this file never builds them.
(function () {
  "use strict";
  const body = document.body;
  const home = body.dataset.home;
  const pingUrl = body.dataset.ping;
  const idleSeconds = Number(body.dataset.idle || 60);
  const overlay = document.getElementById("offline");
  let idleTimer = null;
  let returnTimer = null;
  let touched = false;          // has anyone used the kiosk since the start screen showed?
  let offline = false;
  let retry = null;             // a ticket request to send again once the server is back

  // -- the server: is it there? ---------------------------------------------------------------
  function ping(timeoutMs) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), timeoutMs || 4000);
    return fetch(pingUrl, { cache: "no-store", signal: ctl.signal })
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => clearTimeout(t));
  }

  function goHome() {
    // Back to the start screen in the hall's language; only once the server answers, so a
    // kiosk never navigates into a browser error page.
    ping().then((ok) => {
      if (ok) { window.location.replace(home); } else { lost(); }
    });
  }

  function lost(request) {
    if (request) { retry = request; }
    if (offline) { return; }
    offline = true;
    overlay.hidden = false;
    (function again() {
      ping(3000).then((ok) => {
        if (!ok) { setTimeout(again, 2000); return; }
        offline = false;
        if (retry) {
          // The same tap again, with the same key: the server returns the same ticket.
          const r = retry;
          retry = null;
          overlay.hidden = true;
          htmx.ajax("POST", r.path, { target: "#screen", swap: "innerHTML", values: r.values });
        } else {
          window.location.replace(home);
        }
      });
    })();
  }

  // -- idle and automatic return --------------------------------------------------------------
  function armIdle() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (touched || body.dataset.lang !== body.dataset.defaultLang) {
        goHome();
      } else {
        armIdle();
      }
    }, idleSeconds * 1000);
  }

  function armReturn() {
    clearTimeout(returnTimer);
    const marks = document.querySelectorAll("#screen [data-return-after]");
    if (!marks.length) { return; }
    const seconds = Number(marks[marks.length - 1].dataset.returnAfter);
    returnTimer = setTimeout(goHome, seconds * 1000);
  }

  ["pointerdown", "keydown"].forEach((kind) => document.addEventListener(kind, () => {
    touched = true;
    armIdle();
  }, { passive: true }));
  document.addEventListener("contextmenu", (e) => e.preventDefault());

  // -- htmx: errors and swaps -----------------------------------------------------------------
  document.addEventListener("htmx:afterSwap", () => { armReturn(); });
  // The request that failed, not the last one sent: a banner poll may have gone out since.
  document.addEventListener("htmx:sendError", (e) => {
    const c = e.detail.requestConfig;
    lost(c && c.verb === "post"
      ? { path: c.path, values: Object.fromEntries(c.formData.entries()) } : null);
  });
  document.addEventListener("htmx:beforeSwap", (e) => {
    const type = e.detail.xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/html") !== 0 && e.detail.xhr.status >= 400) {
      // Not a kiosk screen (an expired form token, a server error): start again cleanly.
      e.detail.shouldSwap = false;
      setTimeout(goHome, 1500);
    }
  });
  document.addEventListener("htmx:responseError", (e) => {
    if (e.detail.xhr.status >= 500 && e.detail.xhr.status !== 503) { setTimeout(goHome, 1500); }
  });

  // -- the on-screen keyboard -----------------------------------------------------------------
  document.addEventListener("click", (e) => {
    const key = e.target.closest(".key");
    if (!key) { return; }
    const input = document.getElementById(key.closest(".keyboard").dataset.for);
    if (!input) { return; }
    const k = key.dataset.key;
    if (k === "back") { input.value = input.value.slice(0, -1); }
    else if (k === "clear") { input.value = ""; }
    else if (input.value.length < 60) { input.value += k; }
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // -- the heartbeat (the clock is clock.js's) ------------------------------------------------
  function heartbeat() {
    if (!offline) {
      ping().then((ok) => { if (!ok) { lost(); } });
    }
    setTimeout(heartbeat, 10000);
  }

  armIdle();
  armReturn();
  setTimeout(heartbeat, 10000);
})();
