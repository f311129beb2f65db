// The ticket's page on its holder's phone: follows the ticket by its own stream (polling where
// streams are blocked), wakes with the phone, rings and vibrates at the call, and tells the
// holder when only N people are ahead. Plain script, no library: the page must stay light.
(function () {
  "use strict";
  var main = document.getElementById("ticket");
  if (!main || !main.dataset.payload) return;
  var box = document.getElementById("status");
  var live = document.getElementById("live");
  var alertBox = document.getElementById("alert-me");
  var alertN = document.getElementById("alert-n");
  var alertState = document.getElementById("alert-state");
  var wishKey = "goiso-near-" + main.dataset.token;
  var staleMs = Math.max(10, 2.5 * parseFloat(main.dataset.keepalive || "15")) * 1000;
  var last = JSON.parse(main.dataset.payload);
  var source = null, stopped = false, failures = 0, heardAt = Date.now();
  var pollTimer = null, retryTimer = null, sound = null, dismissed = null;

  function stored() {
    try { return JSON.parse(localStorage.getItem(wishKey) || "null"); } catch (e) { return null; }
  }
  function store(value) {
    try { localStorage.setItem(wishKey, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }

  // A short two-tone chime made on the spot (no file to load); browsers allow sound only
  // after the holder touched the page once, which "Bật nhắc" or any tap gives.
  function chime() {
    try {
      sound = sound || new (window.AudioContext || window.webkitAudioContext)();
      if (sound.state === "suspended") sound.resume();
      [0, 0.4, 0.8].forEach(function (at, i) {
        var osc = sound.createOscillator(), gain = sound.createGain(), t = sound.currentTime + at;
        osc.frequency.value = i === 1 ? 660 : 880;
        gain.gain.setValueAtTime(0.4, t);
        gain.gain.exponentialRampToValueAtTime(0.001, t + 0.35);
        osc.connect(gain); gain.connect(sound.destination);
        osc.start(t); osc.stop(t + 0.36);
      });
    } catch (e) { /* no audio here */ }
  }
  function alertHolder(text) {
    chime();
    if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(text, { tag: "goiso-" + main.dataset.token }); } catch (e) { /* */ }
    }
  }

  function show(p) {
    var before = last;
    last = p;
    if (p.html !== undefined) box.innerHTML = p.html;
    document.title = p.title;
    main.dataset.status = p.status;
    var called = p.status === "called";
    // Each call (a recall, a call at another counter after a transfer) is shown until the
    // holder says they understood; one dismissed stays so across updates.
    var call = p.called_at + "#" + p.recalls;
    document.body.classList.toggle("is-called", called && dismissed !== call);
    var dismiss = box.querySelector(".dismiss");
    if (dismiss) dismiss.hidden = false;
    // A call (or a recall) that came while the page was open or asleep, not the one it opened on.
    if (called && before.shown && (before.status !== "called" ||
                                   call !== before.called_at + "#" + before.recalls)) {
      alertHolder(p.title);
    }
    p.shown = true;
    var wish = stored();
    alertBox.hidden = p.status !== "waiting";
    if (wish && p.status === "waiting" && p.ahead !== null && p.ahead <= wish.n && !wish.done) {
      wish.done = true;
      store(wish);
      var text = alertBox.dataset.near.replace("{n}", p.ahead);
      alertState.textContent = text;
      alertHolder(text);
    }
    if (p.final && !p.rateable) stop();
  }

  function setLive(on) { live.textContent = on ? live.dataset.live : live.dataset.lost; }
  function heard() { heardAt = Date.now(); failures = 0; setLive(true); }

  function refresh() {
    return fetch(main.dataset.statusUrl, { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        heardAt = Date.now();
        if (!source) live.textContent = live.dataset.poll;
        show(p);
      })
      .catch(function () { setLive(false); });
  }

  function poll() {
    clearTimeout(pollTimer);
    if (stopped) return;
    refresh().then(function () { pollTimer = setTimeout(poll, 10000); });
  }

  function connect() {
    if (stopped) return;
    if (source) source.close();
    source = null;
    if (!window.EventSource || failures >= 3) {
      // Streams blocked here (an old browser, a proxy, the hall's cap): poll, and try the
      // stream again in two minutes.
      poll();
      clearTimeout(retryTimer);
      retryTimer = setTimeout(function () { failures = 0; clearTimeout(pollTimer); connect(); },
                              120000);
      return;
    }
    source = new EventSource(main.dataset.eventsUrl);
    source.addEventListener("ticket", function (e) { heard(); show(JSON.parse(e.data)); });
    source.addEventListener("ping", heard);
    source.addEventListener("gone", function (e) { show(JSON.parse(e.data)); stop(); });
    source.onopen = heard;
    source.onerror = function () {
      setLive(false);
      if (source && source.readyState === 2) {  // refused, not just dropped: count it
        failures += 1;
        setTimeout(connect, failures >= 3 ? 0 : 2000 * failures);
      }
    };
  }

  function stop() {
    stopped = true;
    if (source) source.close();
    clearTimeout(pollTimer);
    clearTimeout(retryTimer);
    alertBox.hidden = true;
  }

  // After sleep the phone may hold a dead connection that looks open: ask at once, and open
  // a new stream unless the old one was heard from lately.
  function wake() {
    if (stopped) return;
    refresh();
    if (!source || source.readyState === 2 || Date.now() - heardAt > staleMs) connect();
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) wake(); });
  document.addEventListener("resume", wake);
  window.addEventListener("online", wake);
  window.addEventListener("pageshow", function (e) { if (e.persisted) wake(); });
  setInterval(function () { if (!stopped && source && Date.now() - heardAt > staleMs) connect(); },
              5000);

  alertN.value = (stored() || { n: alertN.value }).n;
  document.getElementById("alert-on").addEventListener("click", function () {
    store({ n: parseInt(alertN.value, 10), done: false });
    chime();  // also unlocks sound for the call
    var on = alertBox.dataset.on.replace("{n}", alertN.value);
    if (!window.Notification) { alertState.textContent = alertBox.dataset.off; return; }
    Promise.resolve(Notification.requestPermission()).then(function (answer) {
      alertState.textContent = answer === "granted" ? on : alertBox.dataset.off;
      show(last);
    });
  });

  box.addEventListener("click", function (e) {
    var button = e.target.closest("button");
    if (!button) return;
    if (button.classList.contains("dismiss")) {
      dismissed = last.called_at + "#" + last.recalls;
      document.body.classList.remove("is-called");
      return;
    }
    if (!button.dataset.level) return;
    button.disabled = true;
    fetch(main.dataset.rateUrl, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ level: parseInt(button.dataset.level, 10) })
    }).then(function (r) {
      return r.json().then(function (body) {
        if (r.ok) { show(body); return; }
        button.disabled = false;
        var error = box.querySelector(".rate-error");
        if (error) error.textContent = body.error ? body.error.message : "";
      });
    }).catch(function () { button.disabled = false; setLive(false); });
  });

  show(last);
  connect();
})();
