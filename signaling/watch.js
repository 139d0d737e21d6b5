// Viewer page: plays the stream's HLS (native in Safari and Chromium) and shows what the server says about it.
// WebRTC (WHEP) playback and the audience event channel join this page as those server parts ship.
"use strict";

const streamName = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const player = document.getElementById("player");
const note = document.getElementById("playback-note");
const badge = document.getElementById("live-badge");
const facts = document.getElementById("ingest");
document.getElementById("stream-name").textContent = streamName;
document.title = `LiveRelay — ${streamName}`;

const hlsURL = `/hls/${encodeURIComponent(streamName)}/master.m3u8`;
let attached = false;

function attachPlayer() {
  if (attached) return;
  if (player.canPlayType("application/vnd.apple.mpegurl")) {
    player.src = hlsURL;
    attached = true;
    note.textContent = "";
  } else {
    note.textContent = `This browser does not play HLS natively; open ${hlsURL} or /dash/${streamName}/manifest.mpd in a DASH/HLS player.`;
  }
}

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
      attachPlayer();
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
