// The hall board's own habits: speak each call once (after a chime), in order, never
// overlapping; remember the last event seen so a reconnect resumes from it; poll when Server-
// Sent Events cannot work. What the board shows comes from the server (htmx); the clock is
// clock.js's.
(function () {
  "use strict";

  // A part drawn at event data-seen skips a stream's first frame that is no newer (nothing to
  // fetch again); caught before htmx sees it.
  document.addEventListener("sse:state", (e) => {
    if (e.detail && e.target.dataset && e.detail.lastEventId === e.target.dataset.seen) { e.stopPropagation(); }
  }, true);
  const body = document.body;
  const ds = body.dataset;
  const board = document.getElementById("board");
  const soundButton = document.getElementById("sound-on");
  const offline = document.getElementById("offline");
  const caption = document.getElementById("caption");
  const highlight = Number(ds.highlight || 8) * 1000;
  const repeat = Number(ds.repeat || 1);
  let lastEvent = Number(ds.lastEvent || 0);
  const spoken = new Set();       // event ids already queued: each call is spoken once
  const queue = [];               // calls waiting to be spoken, oldest first
  let speaking = false;
  let blocked = false;            // the browser refused to play sound until someone taps
  let failures = 0;
  let polling = null;
  let captionTimer = null;
  window.goisoBoard = { queue, spoken, said: [], shown: [] };  // for the technician (and tests)

  // -- the call written out (for those who cannot hear it) --------------------------------------
  // The sentence the voice says, with digits; shown while the call is said and for the
  // highlight after it (or at once when the board has no voice or may not play sound yet).
  function write(call) {
    const text = (ds.caption || "").replaceAll("{number}", call.number).replaceAll("{counter}", call.counter);
    // A new line each time, so a live region announces a recall's same sentence again.
    const line = document.createElement("p");
    line.className = "caption-text";
    line.textContent = text;
    caption.replaceChildren(line);
    window.goisoBoard.shown.push(text);
    unwriteLater();
  }

  function unwriteLater() {
    clearTimeout(captionTimer);
    captionTimer = setTimeout(() => { if (!speaking) { caption.replaceChildren(); } }, highlight);
  }

  // -- where the stream resumes -------------------------------------------------------------
  function seen(id) {
    if (!id || id <= lastEvent) { return; }
    lastEvent = id;
    // htmx's sse extension reads this address again when it has to reconnect by itself.
    const url = new URL(board.getAttribute("sse-connect"), window.location.href);
    url.searchParams.set("last_event_id", String(lastEvent));
    board.setAttribute("sse-connect", url.pathname + url.search);
  }

  // -- the voice ------------------------------------------------------------------------------
  function play(src) {
    return new Promise((resolve, reject) => {
      const audio = new Audio(src);
      audio.onended = () => resolve();
      audio.onerror = () => resolve();  // a missing sound must not stop the queue
      const started = audio.play();
      if (started) { started.catch(reject); }
    });
  }

  async function speakNext() {
    if (speaking || blocked || !queue.length) { return; }
    speaking = true;
    const call = queue[0];
    write(call);
    try {
      for (let i = 0; i < repeat; i++) {
        if (ds.chime) { await play(ds.chime); }
        if (ds.call) {
          await play(ds.call + "?number=" + encodeURIComponent(call.number) +
                     "&counter=" + encodeURIComponent(call.counter));
        }
      }
      queue.shift();
      window.goisoBoard.said.push(call.number + "→" + call.counter);
    } catch (err) {
      // Autoplay refused: keep the call, show the button, speak everything once tapped.
      blocked = true;
      soundButton.hidden = false;
    }
    speaking = false;
    unwriteLater();
    if (!blocked) { speakNext(); }
  }

  function announce(event) {
    if (!event || spoken.has(event.id)) { return; }
    spoken.add(event.id);
    if (event.counter === null || event.counter === undefined) { return; }
    const call = { id: event.id, number: event.data.number, counter: event.counter };
    if (!ds.call && !ds.chime) { write(call); return; }
    queue.push(call);
    if (blocked) { write(call); }  // no sound until someone taps: the words at least
    speakNext();
  }

  soundButton.addEventListener("click", () => {
    blocked = false;
    soundButton.hidden = true;
    speakNext();
  });

  // -- the stream (htmx's sse extension) ------------------------------------------------------
  document.addEventListener("htmx:sseMessage", (e) => {
    const msg = e.detail;
    if (!msg || !msg.data) { return; }
    failures = 0;
    offline.hidden = true;
    const id = Number(msg.lastEventId || 0);
    if (msg.type === "state") {
      seen(JSON.parse(msg.data).last_event_id);
      return;
    }
    if (e.target.id !== "voice") { seen(id); return; }
    seen(id);
    announce(JSON.parse(msg.data));
  });
  document.addEventListener("htmx:sseOpen", () => {
    failures = 0;
    offline.hidden = true;
    if (polling) { clearInterval(polling); polling = null; }
  });
  document.addEventListener("htmx:sseError", () => {
    failures += 1;
    offline.hidden = false;
    // A stream that keeps failing (a proxy that buffers, a browser without SSE): ask instead.
    if (failures >= 3 && !polling) {
      polling = setInterval(poll, Number(ds.poll || 3) * 1000);
    }
  });

  async function poll() {
    try {
      const reply = await fetch(ds.state, { cache: "no-store" });
      if (!reply.ok) { return; }
      const state = await reply.json();
      offline.hidden = true;
      const fresh = state.recent_calls.filter((c) => c.event > lastEvent).reverse();
      if (fresh.length || state.last_event_id !== lastEvent) {
        htmx.ajax("GET", ds.live, { target: "#live", swap: "innerHTML" });
      }
      for (const call of fresh) {
        announce({ id: call.event, counter: call.counter, data: { number: call.number } });
      }
      seen(state.last_event_id);
    } catch (err) {
      offline.hidden = false;
    }
  }

  // -- the newest call stays highlighted for a while -------------------------------------------
  // After the settle, not the swap: htmx first gives a swapped element of the same id the old
  // one's classes and puts the server's back after settleDelay, which would drop "fresh".
  let flashTimer = null;
  let flashUntil = 0;
  document.addEventListener("htmx:afterSettle", (e) => {
    if (e.target.id !== "live") { return; }
    const newest = document.getElementById("newest");
    if (!newest || !newest.dataset.event) { return; }
    if (Number(newest.dataset.event) !== Number(body.dataset.flashed || 0)) {
      body.dataset.flashed = newest.dataset.event;
      flashUntil = Date.now() + highlight;
      clearTimeout(flashTimer);
      flashTimer = setTimeout(() => {
        const shown = document.getElementById("newest");
        if (shown) { shown.classList.remove("fresh"); }
      }, highlight);
    }
    // Another event right after the call (finished, issued…) draws #newest afresh: the same
    // call stays highlighted until its time is up.
    if (Date.now() < flashUntil) { newest.classList.add("fresh"); }
  });
})();
