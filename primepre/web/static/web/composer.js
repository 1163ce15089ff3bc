// The SMS composer (sms/send.html): placeholder buttons that type at the cursor, the live segment count of the text as
// the longest recipient gets it, and Send held back once the text differs from the checked one. The server counts
// and checks again (primepre/sms/segments.py, preview.py) before anything is sent; without this file the page still
// works: the placeholders are plain text and "Check" shows the count.
(function () {
  var body = document.getElementById("body");
  var out = document.getElementById("segments");
  if (!body || !out) { return; }
  var basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var extended = "^{}\\[~]|€\f";
  var longest = {};  // placeholder name → its longest value among the recipients (data-longest, from the server)
  var preview = document.getElementById("longest");
  var previewText = document.getElementById("longest-text");

  function plural(n, word) { return n.toLocaleString("en") + " " + word + (n === 1 ? "" : "s"); }

  function segments(text) {
    var units = 0, gsm = true;
    for (var ch of text) {
      if (extended.indexOf(ch) >= 0) { units += 2; } else if (basic.indexOf(ch) >= 0) { units += 1; } else { gsm = false; break; }
    }
    if (!gsm) { units = text.length; }  // UTF-16 code units, as UCS-2 counts them
    var parts = gsm ? (units <= 160 ? 1 : Math.ceil(units / 153)) : (units <= 70 ? 1 : Math.ceil(units / 67));
    return { units: units, encoding: gsm ? "GSM-7" : "UCS-2", parts: parts };
  }

  // Python's str.format for plain `{name}`, `{{` and `}}`; null when the text holds anything else in braces (the
  // server then says what is wrong), so the count falls back to the text as typed.
  function fill(text) {
    var used = false, broken = false;
    var filled = text.replace(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g, function (match, name) {
      if (match === "{{") { return "{"; }
      if (match === "}}") { return "}"; }
      if (name !== undefined && Object.prototype.hasOwnProperty.call(longest, name)) { used = true; return longest[name]; }
      broken = true;
      return match;
    });
    return broken || !used ? null : filled;
  }

  function count() {
    var text = body.value.trim();
    var filled = fill(text);
    var result = segments(filled === null ? text : filled);
    out.textContent = !text ? "" : (filled === null ? "" : "At most ") + plural(result.units, "character") + ", " +
      result.encoding + ", " + plural(result.parts, "segment") + (filled === null ? "" : ", filled in with the longest values");
    if (preview && previewText) {
      preview.hidden = filled === null;
      previewText.textContent = filled === null ? "" : filled;
    }
  }

  function insert(token) {
    var start = body.selectionStart, end = body.selectionEnd;
    var room = body.maxLength > 0 ? body.maxLength - body.value.length + (end - start) : token.length;
    if (token.length > room) { return; }  // the text is at its maximum length: typing would not fit either
    body.setRangeText(token, start, end, "end");
    body.focus();
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.querySelectorAll("code[data-insert]").forEach(function (code) {
    var token = code.dataset.insert;
    longest[token.slice(1, -1)] = code.dataset.longest || "";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary placeholder";
    button.textContent = token;
    button.setAttribute("aria-label", "Insert " + token);
    button.addEventListener("click", function () { insert(token); });
    code.replaceWith(button);
  });

  body.addEventListener("input", count);
  count();
  // The send button states the count and segments of the text that was checked: once the text changes it is
  // hidden until the text is checked again (the server refuses a send whose text differs from the checked one too).
  var send = document.getElementById("send");
  var recheck = document.getElementById("recheck");
  if (send && recheck) {
    body.addEventListener("input", function () {
      var changed = body.value.trim() !== send.dataset.checked;
      send.hidden = changed;
      send.disabled = changed;  // not only out of sight: Enter or an assistive tool cannot press it either
      recheck.hidden = !changed;
    });
  }
})();
