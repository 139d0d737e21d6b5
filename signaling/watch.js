// Viewer page. Plays the stream over WebRTC (WHEP from a plain RTCPeerConnection); when WebRTC has not connected
// within 3 s, or fails, or the browser has none, it falls back to LL-HLS (hls.js) or DASH (Video.js), the players
// the set-up installs into /static/vendor/. Comments, reactions, flashes and the viewer count come over the events
// WebSocket whatever the protocol.
// Query: ?token=… (private streams, and posting), ?mode=webrtc|hls|dash forces one, ?fallback=hls|dash picks the
// fallback (default hls), ?player=native plays HLS with the browser's own player, ?maxLayer=360p caps the WebRTC rung.
"use strict";

const streamName = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const query = new URLSearchParams(location.search);
const token = query.get("token");
const forcedMode = query.get("mode");
const fallbackMode = query.get("fallback") === "dash" ? "dash" : "hls";
const nativeHLS = query.get("player") === "native";
const $ = (id) => document.getElementById(id);
const player = $("player");
const note = $("playback-note");
const modeLabel = $("mode");
const resolutionLabel = $("resolution");
const qualitySelect = $("quality");
$("stream-name").textContent = streamName;
document.title = `LiveRelay — ${streamName}`;

const encodedName = encodeURIComponent(streamName);
const withToken = (url) => token ? `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : url;
const authHeaders = token ? { Authorization: `Bearer ${token}` } : {};
const hlsURL = withToken(`/hls/${encodedName}/master.m3u8`);
const dashURL = withToken(`/dash/${encodedName}/manifest.mpd`);
const connectTimeoutMs = 3000;

// Exposed for tests and for the curious: what plays and how.
const viewer = { pc: null, state: "idle", protocol: null, session: null, failures: 0, layer: null, hls: null,
                 latencyMs: null, events: { flashes: [], comments: 0, reactions: {} } };
window.liverelayViewer = viewer;

// A token's expiry, read from its payload (not verified here: the server does that), so an expired link says so.
function tokenExpiry(jwt) {
  try {
    const payload = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload.exp === "number" ? payload.exp * 1000 : null;
  } catch (error) {
    return null;
  }
}
const tokenExpired = token && (tokenExpiry(token) ?? Infinity) < Date.now();

// ---- Playback: WebRTC first, then the fallback.

function waitForGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") finish(); };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(finish, timeoutMs);  // ICE-lite server: our host candidates are enough
  });
}

async function startWebRTC(maxLayer) {
  if (viewer.state === "connecting" || viewer.state === "playing") return;
  if (typeof RTCPeerConnection === "undefined") return fallBack("this browser has no WebRTC");
  viewer.state = "connecting";
  viewer.protocol = "webrtc";
  modeLabel.textContent = "WebRTC: connecting…";
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  viewer.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const media = new MediaStream();
  pc.ontrack = (event) => {
    media.addTrack(event.track);
    if (player.srcObject !== media) player.srcObject = media;
    player.play().catch(() => {});
  };
  const deadline = setTimeout(() => {
    if (viewer.pc === pc && pc.connectionState !== "connected") stopWebRTC("not connected within 3 s", true);
  }, connectTimeoutMs);
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "connected") {
      clearTimeout(deadline);
      viewer.state = "playing";
      modeLabel.textContent = "WebRTC";
    } else if (["failed", "closed", "disconnected"].includes(pc.connectionState) && viewer.pc === pc) {
      stopWebRTC(`WebRTC ${pc.connectionState}`, pc.connectionState === "failed");
    }
  };
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc, 500);
    const url = `/whep/${encodedName}` + (maxLayer ? `?maxLayer=${encodeURIComponent(maxLayer)}` : "");
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp", ...authHeaders },
                                        body: pc.localDescription.sdp });
    if (response.status !== 201) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.detail || `WHEP answered ${response.status}`);
    }
    viewer.session = new URL(response.headers.get("Location"), location.href).toString();
    viewer.layer = response.headers.get("X-LiveRelay-Layer");
    const rungs = (response.headers.get("X-LiveRelay-Layers") || "").split(",").map((r) => r.trim()).filter(Boolean);
    if (rungs.length) fillQuality(rungs.map((rung) => ({ value: rung, label: rung })));
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  } catch (error) {
    clearTimeout(deadline);
    stopWebRTC(String(error.message || error), false);
  }
}

function stopWebRTC(reason, unreachable) {
  const pc = viewer.pc;
  viewer.pc = null;
  viewer.state = "idle";
  viewer.failures += 1;
  if (pc) pc.close();
  if (viewer.session) fetch(viewer.session, { method: "DELETE", keepalive: true }).catch(() => {});
  viewer.session = null;
  modeLabel.textContent = `WebRTC unavailable (${reason})`;
  // UDP blocked or a connection that never comes up: the fallback at once; other failures get two retries first.
  if (forcedMode !== "webrtc" && (unreachable || viewer.failures >= 3)) fallBack(reason);
}

function fallBack(reason) {
  note.textContent = `Playing ${fallbackMode.toUpperCase()} instead of WebRTC (${reason}).`;
  (fallbackMode === "dash" ? attachDASH : attachHLS)();
}

// A player library the set-up put in /static/vendor/; the page says which one is missing rather than stay black.
function missingLibrary(name, file) {
  note.textContent = `${name} is missing (/static/vendor/${file}): run tools/setup_players.sh on the server. ` +
    `Players can open ${location.origin}${hlsURL} or ${location.origin}${dashURL} directly.`;
}

async function attachHLS() {
  if (viewer.protocol === "hls" || viewer.protocol === "dash") return;
  viewer.protocol = "hls";
  player.srcObject = null;
  let Hls = null;
  if (!nativeHLS) {
    try {
      ({ H: Hls } = await import("/static/vendor/hls.esm.min.js"));
    } catch (error) {
      Hls = null;
    }
  }
  if (Hls && Hls.isSupported()) {
    startHlsJs(Hls);
    modeLabel.textContent = "LL-HLS (hls.js)";
  } else if (player.canPlayType("application/vnd.apple.mpegurl")) {
    player.src = hlsURL;  // Safari-style native HLS where there is no MSE
    modeLabel.textContent = "HLS (native)";
  } else {
    viewer.protocol = null;
    missingLibrary("hls.js", "hls.esm.min.js");
  }
}

const levelName = (level, index) => level.height ? `${level.height}p` : level.name || `level ${index + 1}`;

// One hls.js player on the master playlist. A fatal error (a playlist with no segment yet, just after the stream
// went live; a network error) starts a new player a second later rather than leave the picture black.
function startHlsJs(Hls) {
  const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30 });
  viewer.hls = hls;
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    fillQuality(hls.levels.map((level, index) => ({ value: String(index), label: levelName(level, index) })));
    player.play().catch(() => {});
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, data) => {
    const level = hls.levels[data.level];
    viewer.layer = level ? levelName(level, data.level) : null;
  });
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (!data.fatal) return;
    note.textContent = `HLS: ${data.details}; retrying`;
    hls.destroy();
    setTimeout(() => { if (viewer.hls === hls) startHlsJs(Hls); }, 1000);
  });
  hls.on(Hls.Events.FRAG_BUFFERED, () => {
    if (note.textContent.startsWith("HLS:")) note.textContent = "";
  });
  hls.loadSource(hlsURL);
  hls.attachMedia(player);
}

function attachDASH() {
  if (viewer.protocol === "hls" || viewer.protocol === "dash") return;
  viewer.protocol = "dash";
  player.srcObject = null;
  const stylesheet = document.createElement("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = "/static/vendor/video-js.min.css";
  document.head.append(stylesheet);
  const script = document.createElement("script");
  script.src = "/static/vendor/video.min.js";
  script.onload = () => {
    const vjs = window.videojs(player, { controls: false, autoplay: true, muted: true, liveui: true });
    viewer.videojs = vjs;
    vjs.src({ src: dashURL, type: "application/dash+xml" });
    modeLabel.textContent = "DASH (Video.js)";
  };
  script.onerror = () => { viewer.protocol = null; missingLibrary("Video.js", "video.min.js"); };
  document.head.append(script);
}

// ---- Controls: mute, full screen, quality (auto or a rung).

$("mute").addEventListener("click", (event) => {
  player.muted = !player.muted;
  event.target.textContent = player.muted ? "Unmute" : "Mute";
  event.target.setAttribute("aria-pressed", String(player.muted));
});
$("fullscreen").addEventListener("click", () => {
  const screen = player.parentElement;
  if (document.fullscreenElement) document.exitFullscreen();
  else screen.requestFullscreen?.().catch(() => {});
});

function fillQuality(options) {
  const current = qualitySelect.value;
  qualitySelect.replaceChildren(new Option("auto", "auto"), ...options.map((o) => new Option(o.label, o.value)));
  if ([...qualitySelect.options].some((o) => o.value === current)) qualitySelect.value = current;
}

qualitySelect.addEventListener("change", () => {
  const value = qualitySelect.value;
  if (viewer.protocol === "hls" && viewer.hls) {
    viewer.hls.currentLevel = value === "auto" ? -1 : Number(value);
  } else if (viewer.protocol === "webrtc") {
    // A rung is a cap on what the server's adaptation may choose: reconnect with it (auto: no cap).
    const pc = viewer.pc;
    viewer.pc = null;
    if (pc) pc.close();
    if (viewer.session) fetch(viewer.session, { method: "DELETE", keepalive: true }).catch(() => {});
    viewer.session = null;
    viewer.state = "idle";
    startWebRTC(value === "auto" ? query.get("maxLayer") : value);
  }
});

// ---- Status line: protocol, rung, latency to live, viewers.

player.addEventListener("resize", () => {
  resolutionLabel.textContent = `${player.videoWidth}×${player.videoHeight}` + (viewer.layer ? ` (${viewer.layer})` : "");
});

async function measureLatency() {
  if (viewer.protocol === "webrtc" && viewer.pc) {
    // Time in the jitter buffer plus half the round trip: what the picture trails the server's send by.
    const report = await viewer.pc.getStats().catch(() => null);
    if (!report) return;
    let buffer = null;
    let rtt = 0;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video" && s.jitterBufferEmittedCount) {
        buffer = s.jitterBufferDelay / s.jitterBufferEmittedCount;
      }
      if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime) rtt = s.currentRoundTripTime;
    });
    viewer.latencyMs = buffer === null ? null : Math.round((buffer + rtt / 2) * 1000);
  } else if (viewer.protocol === "hls" && viewer.hls && Number.isFinite(viewer.hls.latency)) {
    viewer.latencyMs = Math.round(viewer.hls.latency * 1000);
  } else if (viewer.protocol === "dash" && player.seekable.length) {
    viewer.latencyMs = Math.round((player.seekable.end(player.seekable.length - 1) - player.currentTime) * 1000);
  }
  // WebRTC: what the picture trails the server by (buffer and network); HLS/DASH: the distance to the live edge.
  const what = viewer.protocol === "webrtc" ? "behind the server" : "behind live";
  $("latency").textContent = viewer.latencyMs === null ? "latency –" : `${(viewer.latencyMs / 1000).toFixed(2)} s ${what}`;
}
setInterval(measureLatency, 1000);

// ---- Stream status (and the fallback's trigger once the stream is live).

function showFacts(entries) {
  const facts = $("ingest");
  facts.replaceChildren();
  for (const [label, value] of entries) {
    const term = document.createElement("dt");
    term.textContent = label;
    const detail = document.createElement("dd");
    detail.textContent = value;
    facts.append(term, detail);
  }
}

function setBadge(text, live) {
  $("live-badge").textContent = text;
  $("live-badge").className = live ? "badge live" : "badge offline";
}

async function refresh() {
  if (tokenExpired) {
    setBadge("link expired", false);
    note.textContent = "This watch link has expired. Ask whoever sent it for a new one.";
    return;
  }
  try {
    const response = await fetch(`/api/streams/${encodedName}`, { cache: "no-store", headers: authHeaders });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      setBadge(response.status === 404 ? "no such stream" : "unavailable", false);
      note.textContent = response.status === 404 && !token
        ? "No public stream has this name. A private stream needs the link with its token."
        : response.status === 404 ? "No stream has this name, or this link's token is not valid for it." : body.detail || "";
      return;
    }
    const stream = await response.json();
    setBadge(stream.live ? "live" : "offline", stream.live);
    if (!stream.live || !stream.ingest) {
      showFacts([]);
      return;
    }
    const { video, audio } = stream.ingest;
    showFacts([
      ["video", video ? `${video.codec} ${video.width}×${video.height} @ ${video.fps ?? "?"} fps` : "none"],
      ["audio", audio ? `${audio.codec} ${audio.sampleRate} Hz × ${audio.channels}` : "none"],
      ["bitrate", `${stream.ingest.bitrateKbps} kb/s`],
    ]);
    if (forcedMode === "hls") attachHLS();
    else if (forcedMode === "dash") attachDASH();
    else if (viewer.protocol === null || viewer.protocol === "webrtc") startWebRTC(query.get("maxLayer"));
  } catch (error) {
    setBadge("server unreachable", false);
  }
}

window.addEventListener("pagehide", () => {
  if (viewer.session) fetch(viewer.session, { method: "DELETE", keepalive: true }).catch(() => {});
});

// ---- Audience: comments, reactions, flashes over the events WebSocket.

const emoji = { heart: "❤️", like: "👍", laugh: "😂", wow: "😮", clap: "👏", fire: "🔥", sad: "😢" };
const reactionTotals = viewer.events.reactions;
let socket = null;

function renderComment(comment) {
  const item = document.createElement("li");
  item.dataset.id = comment.id;
  item.dataset.author = comment.authorId;
  const author = document.createElement("strong");
  author.textContent = comment.author;  // text, never HTML
  item.append(author, document.createTextNode(" " + comment.text));
  return item;
}

function addComment(comment) {
  const list = $("comments");
  if (list.querySelector(`[data-id="${CSS.escape(String(comment.id))}"]`)) return;
  list.append(renderComment(comment));
  while (list.children.length > 200) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
  viewer.events.comments = list.children.length;
}

function removeComments(predicate) {
  for (const item of [...$("comments").children]) if (predicate(item)) item.remove();
  viewer.events.comments = $("comments").children.length;
}

async function loadComments() {
  const response = await fetch(`/api/streams/${encodedName}/comments?limit=50`, { headers: authHeaders }).catch(() => null);
  if (!response || !response.ok) return;
  const { comments } = await response.json();
  for (const comment of comments.reverse()) addComment(comment);
}

function showReactionButtons(types) {
  const bar = $("reactions");
  if (bar.dataset.types === types.join(",")) return;
  bar.dataset.types = types.join(",");
  bar.replaceChildren();
  for (const type of types) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.type = type;
    button.setAttribute("aria-label", type);
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = String(reactionTotals[type] ?? 0);
    button.append(`${emoji[type] ?? type} `, count);
    button.addEventListener("click", () => react(type));
    bar.append(button);
  }
}

function showTotals() {
  for (const button of $("reactions").querySelectorAll("button")) {
    button.querySelector(".count").textContent = String(reactionTotals[button.dataset.type] ?? 0);
  }
}

function float(type) {
  const item = document.createElement("span");
  item.className = "floater";
  item.textContent = emoji[type] ?? type;
  item.style.left = `${10 + Math.random() * 80}%`;
  $("floaters").append(item);
  setTimeout(() => item.remove(), 2000);
}

function react(type) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ type: "reaction", reaction: type }));
  float(type);
}

let flashTimer = null;
function showFlash(flash) {
  viewer.events.flashes.push(flash);
  if (flash.kind === "disclaimer" && flash.pinned) {
    $("disclaimer").textContent = flash.text;
    $("disclaimer").dataset.id = flash.id;
    $("disclaimer").hidden = false;
    return;
  }
  const banner = $("flash");
  banner.textContent = flash.text;
  banner.className = `flash ${flash.severity}`;
  banner.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => { banner.hidden = true; }, (flash.durationSeconds || 10) * 1000);
}

function handleEvent(event) {
  switch (event.type) {
    case "stream.status":
      $("viewers").textContent = `${event.viewers} watching`;
      viewer.viewers = event.viewers;
      showReactionButtons(event.reactionTypes || []);
      break;
    case "flash": showFlash(event); break;
    case "flash.unpinned":
      if ($("disclaimer").dataset.id === String(event.id)) $("disclaimer").hidden = true;
      break;
    case "comment.created": addComment(event.comment); break;
    case "comment.deleted": removeComments((item) => item.dataset.id === String(event.id)); break;
    case "user.banned": removeComments((item) => item.dataset.author === event.sub); break;
    case "reactions":
      for (const [type, count] of Object.entries(event.counts)) {
        reactionTotals[type] = (reactionTotals[type] ?? 0) + count;
        if (count > 0) float(type);
      }
      showTotals();
      break;
    case "error":
      $("comment-note").textContent = event.error === "rate_limited" ? "Slow down a little." : event.error;
      break;
  }
}

function connectEvents() {
  if (tokenExpired) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}` + withToken(`/api/streams/${encodedName}/events`));
  socket.onmessage = (message) => {
    try { handleEvent(JSON.parse(message.data)); } catch (error) { /* not JSON: ignored */ }
  };
  socket.onclose = () => { setTimeout(connectEvents, 2000); };
}

$("comment-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("comment-text");
  const text = input.value.trim();
  if (!text) return;
  const response = await fetch(`/api/streams/${encodedName}/comments`, {
    method: "POST", headers: { "Content-Type": "application/json", ...authHeaders }, body: JSON.stringify({ text }),
  }).catch(() => null);
  if (response && response.status === 201) {
    input.value = "";
    $("comment-note").textContent = "";
    addComment(await response.json());
  } else {
    const body = response ? await response.json().catch(() => ({})) : {};
    $("comment-note").textContent = response && response.status === 401
      ? "Posting needs a viewer link (one with ?token=)." : body.detail || "Not sent.";
  }
});
if (!token) $("comment-note").textContent = "Read-only: posting and reactions need a viewer link (one with ?token=).";

fetch(`/api/streams/${encodedName}/reactions`, { headers: authHeaders })
  .then((r) => r.ok ? r.json() : null)
  .then((body) => { if (body) { Object.assign(reactionTotals, body.totals); showTotals(); } })
  .catch(() => {});
loadComments();
connectEvents();
refresh();
setInterval(refresh, 2000);
