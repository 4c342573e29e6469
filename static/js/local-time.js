// Progressive enhancement: show deadlines in the reader's own time zone.
// Without JavaScript the server's rendering (in the platform's time zone, named) stays.
(function () {
  var lang = document.documentElement.lang === "fr" ? "fr-CA" : "en-CA";
  var format = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short", timeZoneName: "short" });
  document.querySelectorAll("time[data-local-time]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) { el.textContent = format.format(when); }
  });
})();
