// SightSound review console: a shared time cursor over the waveform and the spectrogram, claims drawn on the
// waveform, keyboard review (j/k/a/r) and live run curves. Every page works without this file.
(function () {
  "use strict";

  function player() {
    var box = document.getElementById("player");
    var audio = document.getElementById("audio");
    if (!box || !audio) return;
    var duration = parseFloat(box.dataset.duration) || 0;
    var cursors = box.querySelectorAll(".cursor");
    var clock = document.getElementById("clock");
    function length() { return isFinite(audio.duration) && audio.duration > 0 ? audio.duration : duration; }
    function draw() {
      var pct = length() ? Math.min(100, 100 * audio.currentTime / length()) : 0;
      cursors.forEach(function (c) { c.style.left = pct + "%"; });
      if (clock) clock.textContent = audio.currentTime.toFixed(2) + " s";
    }
    function loop() { draw(); if (!audio.paused) window.requestAnimationFrame(loop); }
    audio.addEventListener("play", loop);
    audio.addEventListener("timeupdate", draw);
    audio.addEventListener("seeked", draw);
    box.querySelectorAll(".track").forEach(function (track) {
      track.addEventListener("click", function (e) {
        var r = track.getBoundingClientRect();
        audio.currentTime = Math.max(0, (e.clientX - r.left) / r.width * length());
        draw();
      });
    });
    document.querySelectorAll(".filmstrip img[data-time]").forEach(function (img) {
      img.addEventListener("click", function () { audio.currentTime = parseFloat(img.dataset.time); draw(); });
    });
  }

  function claims() {
    function select(id) {
      document.querySelectorAll(".selected").forEach(function (el) { el.classList.remove("selected"); });
      document.querySelectorAll(".marks.active").forEach(function (el) { el.classList.remove("active"); });
      document.querySelectorAll('mark.claim[data-claim="' + id + '"], .claim-card[data-claim="' + id + '"]')
        .forEach(function (el) { el.classList.add("selected"); });
      var marks = document.querySelector('.marks[data-claim="' + id + '"]');
      if (marks) marks.classList.add("active");
    }
    document.querySelectorAll("mark.claim[data-claim]").forEach(function (m) {
      m.addEventListener("click", function () {
        select(m.dataset.claim);
        var card = document.getElementById("claim-" + m.dataset.claim);
        if (card) card.scrollIntoView({ block: "nearest", behavior: "smooth" });
      });
    });
    document.querySelectorAll(".claim-card[data-claim]").forEach(function (card) {
      card.addEventListener("click", function (e) {
        if (e.target.closest("form")) return;
        select(card.dataset.claim);
      });
    });
  }

  function queue() {
    var box = document.getElementById("queue");
    if (!box) return;
    var items = Array.prototype.slice.call(box.querySelectorAll(".qitem"));
    var at = 0;
    function focus(i) {
      if (!items.length) return;
      at = Math.max(0, Math.min(items.length - 1, i));
      items.forEach(function (el, j) { el.classList.toggle("current", j === at); });
      items[at].focus({ preventScroll: true });
      items[at].scrollIntoView({ block: "nearest" });
    }
    function decide(value) {
      var item = items[at];
      var form = item && item.querySelector("form.decide");
      if (!form || item.classList.contains("done")) return;
      var data = new FormData(form);
      data.set("decision", value);
      fetch(form.action, { method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
                           headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (o) {
          item.classList.add("done");
          var tag = item.querySelector('[data-role="decision"]');
          if (tag) { tag.textContent = o.decision; tag.className = "tag " + o.decision; }
          focus(at + 1);
        })
        .catch(function (err) { item.insertAdjacentHTML("beforeend", '<p class="error">not saved: ' + err + "</p>"); });
    }
    items.forEach(function (el, j) { el.addEventListener("click", function () { at = j; focus(j); }); });
    box.querySelectorAll("form.decide button[name=decision]").forEach(function (b) {
      b.addEventListener("click", function (e) {
        e.preventDefault();
        at = items.indexOf(b.closest(".qitem"));
        decide(b.value);
      });
    });
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) return;
      if (e.key === "j") focus(at + 1);
      else if (e.key === "k") focus(at - 1);
      else if (e.key === "a" && box.dataset.canReview === "yes") decide("accepted");
      else if (e.key === "r" && box.dataset.canReview === "yes") decide("rejected");
      else return;
      e.preventDefault();
    });
    focus(0);
  }

  function live() {
    var el = document.getElementById("live");
    if (!el || !el.dataset.refresh) return;
    window.setTimeout(function tick() {
      fetch(el.dataset.refresh, { credentials: "same-origin" }).then(function (r) { return r.text(); })
        .then(function (html) {
          var next = new DOMParser().parseFromString(html, "text/html").getElementById("live");
          if (!next) return;
          el.replaceWith(next);
          el = next;
          if (el.dataset.refresh) window.setTimeout(tick, 5000);
        });
    }, 5000);
  }

  document.addEventListener("DOMContentLoaded", function () { player(); claims(); queue(); live(); });
})();
