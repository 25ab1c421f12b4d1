// Live progress of a scan over Server-Sent Events; without JavaScript the page refreshes itself.
"use strict";
(function () {
  var box = document.getElementById("progress");
  if (!box || !window.EventSource) { return; }
  var log = document.getElementById("log");
  var status = document.getElementById("status");
  var count = document.getElementById("count");
  var bar = document.getElementById("bar");
  var source = new EventSource(box.dataset.events);
  var seen = log.children.length;
  var replayed = 0;
  source.addEventListener("progress", function (message) {
    var event = JSON.parse(message.data);
    if (event.status === "done") {
      source.close();
      status.textContent = "Done: loading the report…";
      window.location.replace(box.dataset.report);
      return;
    }
    if (event.status === "failed") {
      source.close();
      window.location.replace(box.dataset.report);
      return;
    }
    // The stream starts with what the page already shows: skip those.
    replayed += 1;
    if (replayed <= seen) { return; }
    var item = document.createElement("li");
    item.textContent = event.message;
    if (event.endpoint) {
      var code = document.createElement("code");
      code.textContent = event.endpoint;
      item.appendChild(document.createTextNode(" "));
      item.appendChild(code);
    }
    log.appendChild(item);
    status.firstChild.textContent = event.status === "queued" ? "Waiting for a free scanner… " : "Scanning… ";
    if (event.total) {
      count.textContent = event.done + " of " + event.total + " probes done";
      bar.max = event.total;
      bar.value = event.done;
    }
  });
}());
