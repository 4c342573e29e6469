// Progressive enhancement: show deadlines in the reader's own time zone.
// Without JavaScript the server's rendering (in the platform's time zone, named) stays.
(function () {
  var lang = document.documentElement.lang === "fr" ? "fr-CA" : "en-CA";
  // dateStyle/timeStyle cannot be combined with timeZoneName (the constructor throws), so each
  // part is named; the zone's name tells the reader the time is now in their own zone.
  var format = new Intl.DateTimeFormat(lang, {
    year: "numeric", month: "long", day: "numeric",
    hour: "numeric", minute: "2-digit", timeZoneName: "short"
  });
  document.querySelectorAll("time[data-local-time]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) { el.textContent = format.format(when); }
  });
})();
