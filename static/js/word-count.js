// Progressive enhancement: a live word count for fields with data-word-limit.
// The server enforces the limit whatever this script says.
(function () {
  document.querySelectorAll("[data-word-count-for]").forEach(function (out) {
    var field = document.getElementById(out.getAttribute("data-word-count-for"));
    if (!field) { return; }
    var limit = parseInt(field.getAttribute("data-word-limit"), 10);
    var french = document.documentElement.lang === "fr";
    function update() {
      var words = (field.value.match(/\S+/g) || []).length;
      out.textContent = french ? words + " mots sur " + limit : words + " of " + limit + " words";
      out.classList.toggle("error-message", words > limit);
    }
    field.addEventListener("input", update);
    update();
  });
})();
