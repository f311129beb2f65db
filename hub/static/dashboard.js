// The dashboard's rows, redrawn by the server's SSE frames (EventSource reconnects by itself).
(function () {
  "use strict";
  var box = document.getElementById("halls");
  if (!box || !window.EventSource) { return; }
  var source = new EventSource(box.getAttribute("data-stream"));
  source.addEventListener("halls", function (event) {
    box.innerHTML = event.data;
    box.setAttribute("data-updated", String(Date.now()));
  });
}());
