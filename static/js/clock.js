// A hall screen's clock (#clock, and #date when there is one): the hall's time in the hall's
// zone, whatever the device's zone or clock. It counts on from the server's time (data-now)
// with the browser's steady timer, never the device's wall clock, which a Pi without a
// real-time clock sets only once it reaches a time server; every answer of the server (its
// Date header) sets it right again. The zone is the hall's (data-zone).
(function () {
  "use strict";
  const clock = document.getElementById("clock");
  if (!clock || !clock.dataset.zone) { return; }
  const date = document.getElementById("date");
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: clock.dataset.zone, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
  let base = Number(clock.dataset.now) - performance.now();  // the server's time at timer 0
  let timer = null;

  function tick() {
    const now = base + performance.now();
    const part = {};
    format.formatToParts(now).forEach((p) => { part[p.type] = p.value; });
    clock.textContent = part.hour + ":" + part.minute;
    if (date) { date.textContent = part.day + "/" + part.month + "/" + part.year; }
    clearTimeout(timer);
    timer = setTimeout(tick, 60050 - (now % 60000));  // once a minute, just after it turns
  }

  document.addEventListener("htmx:afterRequest", (e) => {
    const said = Date.parse((e.detail.xhr && e.detail.xhr.getResponseHeader("Date")) || "");
    // The header counts whole seconds: correct only a difference it can tell.
    if (said && Math.abs(said + 500 - base - performance.now()) > 2000) {
      base = said + 500 - performance.now();
      tick();
    }
  });
  tick();
})();
