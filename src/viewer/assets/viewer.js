// The session page's script (no inline script anywhere: CSP script-src 'self').
// Starts asciinema-player on #player from its data attributes with the cast
// fetched once here, seeks it to `data-start` (`?t=`, `?at=`), and makes
// every command or signal link seek the player to that moment. With an idle
// time limit the player shortens long pauses, so a time in the recording is
// mapped to the player's timeline the way the player maps events (each
// pause capped at the limit).

(() => {
  const element = document.getElementById("player");
  if (element === null || typeof window.AsciinemaPlayer === "undefined") return;
  const data = element.dataset;
  const idle = Number(data.idle);

  /** The event times (seconds) of an asciicast v2 text, header skipped. */
  function eventTimes(text) {
    const times = [];
    let start = text.indexOf("\n") + 1;
    while (start > 0 && start < text.length) {
      const end = text.indexOf("\n", start);
      const time = Number.parseFloat(text.slice(start + 1, start + 32));
      if (Number.isFinite(time)) times.push(time);
      start = end === -1 ? text.length : end + 1;
    }
    return times;
  }

  /** Recording seconds → player seconds (pauses longer than `limit` shortened to it). */
  function timeline(times, limit) {
    if (!(limit > 0)) return (seconds) => seconds;
    const shifted = new Float64Array(times.length);
    let shift = 0;
    let previous = 0;
    times.forEach((time, index) => {
      shift += Math.max(0, time - previous - limit);
      previous = time;
      shifted[index] = time - shift;
    });
    return (seconds) => {
      let low = 0;
      let high = times.length - 1;
      if (high < 0 || seconds < times[0]) return Math.min(seconds, limit);
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        if (times[middle] <= seconds) low = middle;
        else high = middle - 1;
      }
      return shifted[low] + Math.min(seconds - times[low], limit);
    };
  }

  function start(text) {
    const toPlayer = timeline(eventTimes(text), idle);
    const player = window.AsciinemaPlayer.create({ data: text }, element, {
      cols: Number(data.cols),
      rows: Number(data.rows),
      speed: Number(data.speed),
      ...(idle > 0 ? { idleTimeLimit: idle } : {}),
      preload: true,
      fit: "width",
    });
    const seek = (seconds) => player.seek(toPlayer(seconds));
    for (const link of document.querySelectorAll("a.seek")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        void seek(Number(link.dataset.at));
      });
    }
    // Not the player's own `startAt`: it maps only part of the idle shortening.
    if (Number(data.start) > 0) void seek(Number(data.start));
    window.portcullisViewer = { player, seek, toPlayer };
    element.dispatchEvent(new CustomEvent("portcullis:player-ready"));
  }

  const controls = document.querySelector("form.player-controls");
  for (const select of controls ? controls.querySelectorAll("select") : []) {
    select.addEventListener("change", () => controls.requestSubmit());
  }

  fetch(data.src, { credentials: "same-origin" })
    .then((response) => {
      if (!response.ok) throw new Error(`the recording could not be loaded (${response.status})`);
      return response.text();
    })
    .then(start)
    .catch((error) => {
      element.textContent = String(error.message);
      element.classList.add("failed");
    });
})();

// The approvals page: live updates from the server-sent event stream named
// by `data-live-approvals`. A card is replaced only when its state changed
// (a comment being typed into it is kept), new ones are added, gone ones
// removed; the history's first page is replaced as a whole. Time left
// counts down from what the server computed (no clock skew).
(() => {
  const section = document.querySelector("[data-live-approvals]");
  if (section === null || typeof EventSource === "undefined") return;
  const list = document.getElementById("pending-list");
  const history = document.getElementById("history-list");
  const status = document.getElementById("live-status");
  const count = document.getElementById("pending-count");

  function startCountdowns(root) {
    for (const element of root.querySelectorAll(".countdown[data-left-ms]")) {
      element.dataset.deadline = String(Date.now() + Number(element.dataset.leftMs));
    }
  }

  function formatLeft(ms) {
    const seconds = Math.max(0, Math.round(ms / 1000));
    const minutes = Math.floor(seconds / 60);
    const hours = Math.floor(minutes / 60);
    if (hours > 0) return `${hours}h ${minutes % 60}m`;
    return minutes > 0 ? `${minutes}m ${seconds % 60}s` : `${seconds}s`;
  }

  function tick() {
    for (const element of list.querySelectorAll(".countdown[data-deadline]")) {
      element.textContent = formatLeft(Number(element.dataset.deadline) - Date.now());
    }
  }

  function fragment(text) {
    const template = document.createElement("template");
    template.innerHTML = text;
    return template.content;
  }

  function replaceCard(current, card) {
    const typed = current.querySelector("textarea");
    const next = card.querySelector("textarea");
    if (typed !== null && next !== null && !next.disabled) next.value = typed.value;
    current.replaceWith(card);
  }

  function mergePending(text) {
    const content = fragment(text);
    const cards = [...content.querySelectorAll("article.approval")];
    const wanted = new Set(cards.map((card) => card.id));
    for (const old of list.querySelectorAll("article.approval")) {
      if (!wanted.has(old.id)) old.remove();
    }
    let previous = null;
    for (const card of cards) {
      const current = document.getElementById(card.id);
      startCountdowns(card);
      if (current === null) {
        card.classList.add("arrived");
        if (previous === null) list.prepend(card);
        else previous.after(card);
      } else if (current.dataset.version !== card.dataset.version) replaceCard(current, card);
      previous = document.getElementById(card.id);
    }
    const empty = list.querySelector("p.empty");
    if (cards.length > 0) empty?.remove();
    else if (empty === null) list.replaceChildren(content);
    count.textContent = String(cards.length);
  }

  startCountdowns(list);
  setInterval(tick, 1000);
  const source = new EventSource(section.dataset.liveApprovals);
  source.addEventListener("open", () => {
    status.textContent = "Live: this list updates by itself.";
  });
  source.addEventListener("error", () => {
    status.textContent =
      source.readyState === EventSource.CLOSED
        ? "Live updates stopped: reload the page."
        : "Reconnecting…";
  });
  source.addEventListener("pending", (event) => mergePending(event.data));
  source.addEventListener("history", (event) => {
    if (history?.dataset.live === "true") history.replaceChildren(fragment(event.data));
  });
  window.addEventListener("pagehide", () => source.close());
  window.portcullisApprovals = { source };
})();
