// Live segment count while typing; the server counts again (primepre/sms/segments.py) before anything is sent.
(function () {
  var body = document.getElementById("body");
  var out = document.getElementById("segments");
  if (!body || !out) { return; }
  var basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var extended = "^{}\\[~]|€\f";
  function count() {
    var text = body.value, units = 0, gsm = true;
    for (var ch of text) {
      if (extended.indexOf(ch) >= 0) { units += 2; } else if (basic.indexOf(ch) >= 0) { units += 1; } else { gsm = false; break; }
    }
    var parts;
    if (gsm) { parts = units <= 160 ? 1 : Math.ceil(units / 153); }
    else { units = text.length; parts = units <= 70 ? 1 : Math.ceil(units / 67); }
    out.textContent = units + " characters, " + (gsm ? "GSM-7" : "UCS-2") + ", " + parts + " segment" + (parts === 1 ? "" : "s");
  }
  body.addEventListener("input", count);
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
