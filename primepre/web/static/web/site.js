// What every page shares, kept out of the HTML so the Content-Security-Policy can forbid inline script and style:
// bars sized from data-width (a percentage), and forms that ask first (data-confirm holds the question).
(function () {
  document.querySelectorAll("[data-width]").forEach(function (bar) {
    bar.style.width = Math.max(0, Math.min(100, Number(bar.dataset.width) || 0)) + "%";
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
