// The mapping step: "No column is chosen for …" follows the selects (and a filler's box) as they change, before the
// preview runs again. The server renders the message the same way; without JavaScript it is the only one, and it is
// the truth again once the preview has run. What is needed comes from the form's data attributes, by field label:
// data-required "Shipping Mark|Phone|", data-replaces "Name=First Name|Last Name;", a filler box's data-field.
(function () {
  var form = document.getElementById("mapping-form");
  if (!form) { return; }
  var hint = form.querySelector("p.hint");

  function list(text, separator) {
    return (text || "").split(separator).filter(function (item) { return item; });
  }

  var required = list(form.dataset.required, "|");
  var replaces = {};  // a field's label -> the labels of the fields it takes the place of
  list(form.dataset.replaces, ";").forEach(function (entry) {
    var parts = entry.split("=");
    replaces[parts[0]] = list(parts[1], "|");
  });
  var fillers = Array.prototype.slice.call(form.querySelectorAll("input[type=checkbox][data-field]"));

  function chosen() {  // the labels of the fields the selects feed; a required one's option reads "Phone *"
    var labels = [];
    form.querySelectorAll("select[id^='column_']").forEach(function (select) {
      var option = select.options[select.selectedIndex];
      if (option && option.value) { labels.push(option.text.replace(/ \*$/, "")); }
    });
    return labels;
  }

  function missing() {
    var labels = chosen();
    var covered = labels.slice();
    labels.forEach(function (label) { covered = covered.concat(replaces[label] || []); });
    fillers.forEach(function (box) { if (box.checked) { covered.push(box.dataset.field); } });
    return required.filter(function (label) { return covered.indexOf(label) < 0; });
  }

  function sentence(fields) {  // as _mapping.html words it
    var text = "No column is chosen for " + fields.join(", ");
    if (fillers.length) {
      text += ": choose one above";
      fillers.forEach(function (box) { text += ", or tick “" + box.parentNode.textContent.trim() + "” below"; });
    }
    return text + ".";
  }

  function message() {  // the server's paragraph, or one made where it would be
    var node = document.getElementById("missing-fields");
    if (!node) {
      node = document.createElement("p");
      node.id = "missing-fields";
      node.className = "error";
      node.setAttribute("role", "status");
      if (hint) { hint.insertAdjacentElement("afterend", node); } else { form.insertBefore(node, form.firstChild); }
    }
    return node;
  }

  form.addEventListener("change", function () {
    var fields = missing();
    if (!fields.length && !document.getElementById("missing-fields")) { return; }
    var node = message();
    node.textContent = fields.length ? sentence(fields) : "";
    node.hidden = !fields.length;
  });
})();
