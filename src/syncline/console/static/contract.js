/* A contract's page: an amount in the schedule links to its explanation (#exp-…), a
   <details> inside the closed "Explanations" one; open it and its parents, then show it. */
(function () {
  "use strict";
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target || target.tagName !== "DETAILS") { return; }
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    target.scrollIntoView({block: "center"});
  }
  window.addEventListener("hashchange", reveal);
  // a refused what-if answers 422 with its reason: show it (HTMX swaps only 2xx by default)
  document.addEventListener("htmx:beforeSwap", function (event) {
    var d = event.detail;
    if (d.xhr.status === 422 && d.target && d.target.id === "whatif-result") {
      d.shouldSwap = true;
      d.isError = false;
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", reveal);
  } else { reveal(); }
})();
