// A <details class="pick"> of checkboxes (the customers' region filter): its summary names what is ticked as the
// boxes change (the server writes the same names on load), and it closes on Escape or a click elsewhere, like a select.
(function () {
  document.querySelectorAll("details.pick").forEach(function (pick) {
    var summary = pick.querySelector("summary");
    var boxes = pick.querySelectorAll("input[type=checkbox]");
    function say() {
      var names = [];
      boxes.forEach(function (box) { if (box.checked) { names.push(box.parentElement.textContent.trim()); } });
      summary.textContent = names.length ? names.join(", ") : pick.dataset.none;
    }
    boxes.forEach(function (box) { box.addEventListener("change", say); });
    document.addEventListener("click", function (event) {
      if (pick.open && !pick.contains(event.target)) { pick.open = false; }
    });
    pick.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && pick.open) { pick.open = false; summary.focus(); }
    });
  });
})();
