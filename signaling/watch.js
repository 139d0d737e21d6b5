// Viewer page: plays the stream over WebRTC (WHEP from a plain RTCPeerConnection) and falls back to HLS where
// WebRTC cannot connect; shows the current resolution and what the server says about the stream.
// Query: ?maxLayer=360p caps the WebRTC layer, ?token=… is sent as the bearer token of a private stream,
// ?mode=hls skips WebRTC.
"use strict";

const streamName = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const query = new URLSearchParams(location.search);
const player = document.getElementById("player");
const note = document.getElementById("playback-note");
const badge = document.getElementById("live-badge");
const facts = document.getElementById("ingest");
const modeLabel = document.getElementById("mode");
const resolutionLabel = document.getElementById("resolution");
document.getElementById("stream-name").textContent = streamName;
document.title = `LiveRelay — ${streamName}`;

const token = query.get("token");
// A private stream's playlists are fetched with the token; the URLs they name carry a signed query of their own.
const hlsURL = `/hls/${encodeURIComponent(streamName)}/master.m3u8` + (token ? `?token=${encodeURIComponent(token)}` : "");
const whepURL = `/whep/${encodeURIComponent(streamName)}` + (query.get("maxLayer") ? `?maxLayer=${encodeURIComponent(query.get("maxLayer"))}` : "");

// Exposed for tests and for the curious: the live RTCPeerConnection and where the page is.
const viewer = { pc: null, state: "idle", session: null, failures: 0 };
window.liverelayViewer = viewer;

function waitForGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") finish(); };
    pc.addEventListener("icegatheringstatechange", check);
    // ICE-lite server: our host candidates are enough, do not wait long for the rest.
    setTimeout(finish, timeoutMs);
  });
}

async function startWebRTC() {
  if (viewer.state === "connecting" || viewer.state === "playing") return;
  viewer.state = "connecting";
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
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "connected") {
      viewer.state = "playing";
      modeLabel.textContent = "WebRTC";
    } else if (["failed", "closed", "disconnected"].includes(pc.connectionState) && viewer.pc === pc) {
      stopWebRTC(`WebRTC ${pc.connectionState}`);
    }
  };
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc, 500);
    const headers = { "Content-Type": "application/sdp" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(whepURL, { method: "POST", headers, body: pc.localDescription.sdp });
    if (response.status !== 201) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.detail || `WHEP answered ${response.status}`);
    }
    viewer.session = new URL(response.headers.get("Location"), location.href).toString();
    viewer.layer = response.headers.get("X-LiveRelay-Layer");
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  } catch (error) {
    stopWebRTC(String(error.message || error));
  }
}

function stopWebRTC(reason) {
  const pc = viewer.pc;
  viewer.pc = null;
  viewer.state = "idle";
  viewer.failures += 1;
  if (pc) pc.close();
  if (viewer.session) fetch(viewer.session, { method: "DELETE", keepalive: true }).catch(() => {});
  viewer.session = null;
  modeLabel.textContent = `WebRTC unavailable (${reason})`;
  // After repeated failures (UDP blocked, say), play HLS instead.
  if (viewer.failures >= 3) attachHLS();
}

let hlsAttached = false;
function attachHLS() {
  if (hlsAttached) return;
  if (player.canPlayType("application/vnd.apple.mpegurl")) {
    player.srcObject = null;
    player.src = hlsURL;
    hlsAttached = true;
    modeLabel.textContent = "HLS";
    note.textContent = "";
  } else {
    note.textContent = `This browser does not play HLS natively; open ${hlsURL} or /dash/${streamName}/manifest.mpd in a DASH/HLS player.`;
  }
}

window.addEventListener("pagehide", () => {
  if (viewer.session) fetch(viewer.session, { method: "DELETE", keepalive: true }).catch(() => {});
});

player.addEventListener("resize", () => {
  resolutionLabel.textContent = `${player.videoWidth}×${player.videoHeight}` + (viewer.layer && !hlsAttached ? ` (${viewer.layer})` : "");
});

function show(facts, entries) {
  facts.replaceChildren();
  for (const [label, value] of entries) {
    const term = document.createElement("dt");
    term.textContent = label;
    const detail = document.createElement("dd");
    detail.textContent = value;
    facts.append(term, detail);
  }
}

async function refresh() {
  try {
    const response = await fetch(`/api/streams/${encodeURIComponent(streamName)}`, { cache: "no-store" });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      badge.textContent = response.status === 404 ? "no such stream" : "unavailable";
      badge.className = "badge offline";
      note.textContent = body.detail || "";
      return;
    }
    const stream = await response.json();
    badge.textContent = stream.live ? "live" : "offline";
    badge.className = stream.live ? "badge live" : "badge offline";
    if (stream.live && stream.ingest) {
      const { video, audio } = stream.ingest;
      show(facts, [
        ["video", video ? `${video.codec} ${video.width}×${video.height} @ ${video.fps ?? "?"} fps` : "none"],
        ["audio", audio ? `${audio.codec} ${audio.sampleRate} Hz × ${audio.channels}` : "none"],
        ["bitrate", `${stream.ingest.bitrateKbps} kb/s`],
        ["source", stream.ingest.source],
      ]);
      if (query.get("mode") === "hls") attachHLS();
      else if (!hlsAttached) startWebRTC();
    } else {
      facts.replaceChildren();
    }
  } catch (error) {
    badge.textContent = "server unreachable";
    badge.className = "badge offline";
  }
}

refresh();
setInterval(refresh, 2000);
