// Shows a guest the meeting's time in their own zone, when it differs from the organizer's.
// The page reads the same without it: the organizer's time is always written out.
(function () {
  "use strict";
  var line = document.getElementById("local-time");
  if (!line || typeof Intl === "undefined" || !Intl.DateTimeFormat) {
    return;
  }
  var own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!own || own === line.getAttribute("data-zone")) {
    return;
  }
  var start = new Date(line.getAttribute("data-start"));
  var end = new Date(line.getAttribute("data-end"));
  var language = document.documentElement.lang || undefined;
  var day = { weekday: "short", day: "numeric", month: "short" };
  var clock = { hour: "2-digit", minute: "2-digit" };
  var withZone = { hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
  var sameDay = start.toDateString() === end.toDateString();
  var text =
    start.toLocaleDateString(language, day) + ", " +
    start.toLocaleTimeString(language, clock) + "–" +
    (sameDay ? "" : end.toLocaleDateString(language, day) + ", ") +
    end.toLocaleTimeString(language, withZone);
  var time = line.querySelector("time");
  time.textContent = text;
  line.hidden = false;
})();
