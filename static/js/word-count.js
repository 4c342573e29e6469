// Progressive enhancement: a live word count for fields with data-word-limit.
// The server enforces the limit whatever this script says.
// The visible count follows every keystroke, but it is not a live region: screen readers hear
// the count (politely, from a separate status element) once typing pauses, or at once when the
// count crosses the limit, instead of after every key.
(function () {
  var PAUSE_MS = 1500;
  document.querySelectorAll("[data-word-count-for]").forEach(function (out) {
    var field = document.getElementById(out.getAttribute("data-word-count-for"));
    var status = document.getElementById(out.getAttribute("data-word-count-status"));
    if (!field || !status) { return; }
    var limit = parseInt(field.getAttribute("data-word-limit"), 10);
    var french = document.documentElement.lang === "fr";
    var pause = null;
    function show() {
      var words = (field.value.match(/\S+/g) || []).length;
      out.textContent = french ? words + " mots sur " + limit : words + " of " + limit + " words";
      out.classList.toggle("error-message", words > limit);
      return words > limit;
    }
    function announce() { status.textContent = out.textContent; }
    var over = show();
    field.addEventListener("input", function () {
      var wasOver = over;
      over = show();
      clearTimeout(pause);
      if (over !== wasOver) { announce(); } else { pause = setTimeout(announce, PAUSE_MS); }
    });
  });
})();
