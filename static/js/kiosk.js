// The kiosk's small habits: on-screen keyboard, idle return, reconnecting by itself, large text
// and reading the screen aloud.
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
  const LARGE = "goiso-kiosk-large";  // sessionStorage: large text kept across a language switch
  const largeButton = document.getElementById("large-text");
  const readButton = document.getElementById("read-aloud");
  let voice = null;             // the Audio reading the screen now

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
    // kiosk never navigates into a browser error page. The next citizen is someone else:
    // normal text again.
    ping().then((ok) => {
      if (ok) { setLarge(false); window.location.replace(home); } else { lost(); }
    });
  }

  // -- large text / high contrast -------------------------------------------------------------
  function setLarge(on) {
    body.classList.toggle("large", on);
    largeButton.setAttribute("aria-pressed", on ? "true" : "false");
    try {
      if (on) { sessionStorage.setItem(LARGE, "1"); } else { sessionStorage.removeItem(LARGE); }
    } catch (e) { /* storage refused: the mode lasts until the page changes */ }
  }

  function isLarge() { return body.classList.contains("large"); }

  largeButton.addEventListener("click", () => { setLarge(!isLarge()); });

  // -- read aloud: the screen's own reading (a WAV the server makes with the board's voice) -----
  function readingUrl() {
    const marks = document.querySelectorAll("#screen [data-read]");
    return marks.length ? marks[marks.length - 1].dataset.read : null;
  }

  function showReading(state) {
    readButton.dataset.state = state;
    readButton.querySelector(".access-label").textContent =
      state === "playing" || state === "loading" ? readButton.dataset.playingText
        : readButton.dataset.idleText;
  }

  function stopReading() {
    if (voice) { voice.pause(); voice.removeAttribute("src"); voice.load(); voice = null; }
    showReading("idle");
  }

  readButton.addEventListener("click", () => {
    if (voice) { stopReading(); return; }
    const url = readingUrl();
    if (!url) { return; }
    const audio = new Audio(url);
    voice = audio;
    showReading("loading");
    audio.addEventListener("playing", () => { if (voice === audio) { showReading("playing"); } });
    audio.addEventListener("ended", () => { if (voice === audio) { voice = null; showReading("ended"); } });
    audio.addEventListener("error", () => { if (voice === audio) { voice = null; showReading("failed"); } });
    audio.play().catch(() => { if (voice === audio) { voice = null; showReading("failed"); } });
  });

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
      if (touched || isLarge() || body.dataset.lang !== body.dataset.defaultLang) {
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
  document.addEventListener("htmx:afterSwap", (e) => {
    armReturn();
    // A new screen: what was being read belongs to the old one.
    if (e.detail.target && e.detail.target.id === "screen") { stopReading(); }
  });
  // "Done" on the ticket screen: this citizen is leaving, the next one starts with normal text.
  document.addEventListener("click", (e) => {
    if (e.target.closest(".nav-button.done")) { setLarge(false); }
  });
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

  try { setLarge(sessionStorage.getItem(LARGE) === "1"); } catch (e) { setLarge(false); }
  armIdle();
  armReturn();
  setTimeout(heartbeat, 10000);
})();
