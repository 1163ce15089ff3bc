// Live progress of an import from its Server-Sent Events; the page reloads when the job ends.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var source = new EventSource(live.dataset.events);
  var labels = JSON.parse(live.dataset.labels || "{}");  // status -> the label the server renders
  function show(job) {
    document.getElementById("status").textContent = labels[job.status] || job.status;
    if (job.status === "queued") {  // the counters still hold the previous run's (a preview's) until a worker starts
      bar.value = 0;
      text.textContent = "Waiting for a worker to start…";
      return;
    }
    var total = job.total_rows || 0;
    if (total) { bar.max = total; }
    bar.value = job.counts.read;
    var parts = [job.counts.read.toLocaleString() + (total ? " of " + total.toLocaleString() : "") + " rows"];
    if (job.percent !== null) { parts.push(job.percent + "%"); }
    if (job.rows_per_second) { parts.push(Math.round(job.rows_per_second).toLocaleString() + " rows/s"); }
    if (job.eta_seconds !== null) { parts.push("about " + Math.ceil(job.eta_seconds) + " s left"); }
    text.textContent = parts.join(" · ");
  }
  source.addEventListener("progress", function (event) { show(JSON.parse(event.data)); });
  source.addEventListener("end", function (event) {
    show(JSON.parse(event.data));
    source.close();
    window.location.reload();
  });
})();
