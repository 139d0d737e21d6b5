// Moderator page: reactions per second as a chart drawn here (canvas), the comment stream with delete and ban in one
// click, held comments and the audit log, the flash composer, viewers by protocol and rung, the ingest's health; with
// the admin token also the stream's publish key, key rotation and token minting.
// Query: ?token=… (a moderator token of this stream, or the admin token).
"use strict";

const streamName = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const token = new URLSearchParams(location.search).get("token") || "";
const encodedName = encodeURIComponent(streamName);
const $ = (id) => document.getElementById(id);
const headers = { Authorization: `Bearer ${token}` };
$("stream-name").textContent = streamName;
$("watch-link").href = `/watch/${encodedName}`;
document.title = `LiveRelay — moderate ${streamName}`;

// Exposed for tests: what the page has seen.
const desk = { rates: [], totals: {}, moments: [], viewers: null, comments: 0, held: 0, admin: false };
window.liverelayDesk = desk;

async function api(method, path, body) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (error) { json = null; }
  if (!response.ok) throw new Error((json && json.detail) || `${method} ${path}: ${response.status}`);
  return json;
}

function say(id, text) { $(id).textContent = text; }

// ---- Reactions: a minute of per-second rates, drawn on a canvas.

const colours = ["#e74c3c", "#f1c40f", "#2ecc71", "#3498db", "#9b59b6", "#e67e22", "#1abc9c"];

function draw() {
  const canvas = $("chart");
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const rates = desk.rates.slice(-60);
  const types = [...new Set(rates.flatMap((r) => Object.keys(r.perSecond)))].sort();
  const peak = Math.max(1, ...rates.flatMap((r) => Object.values(r.perSecond)));
  context.font = "12px system-ui";
  types.forEach((type, index) => {
    context.strokeStyle = context.fillStyle = colours[index % colours.length];
    context.beginPath();
    rates.forEach((rate, x) => {
      const px = (x / 59) * (width - 10) + 5;
      const py = height - 5 - ((rate.perSecond[type] || 0) / peak) * (height - 25);
      if (x === 0) context.moveTo(px, py); else context.lineTo(px, py);
    });
    context.stroke();
    context.fillText(`${type}`, 8 + index * 70, 14);
  });
  context.fillStyle = "#aaa";
  context.fillText(`peak ${peak}/s`, width - 90, 14);
}

// The second a bucket covers (unix ms, whole seconds); a bucket per second, zero when nothing came.
function bucket(at) {
  const second = Math.floor(at / 1000) * 1000;
  let last = desk.rates[desk.rates.length - 1];
  while (!last || last.at < second) {
    last = { at: last ? Math.min(second, last.at + 1000) : second, perSecond: {} };
    desk.rates.push(last);
  }
  if (desk.rates.length > 600) desk.rates.splice(0, desk.rates.length - 600);
  return desk.rates.find((rate) => rate.at === second) || last;
}

// A 250 ms window's counts (the `reactions` event) go into their second's bucket at once.
function noteReactions(counts, at) {
  const rate = bucket(at);
  for (const [type, count] of Object.entries(counts)) rate.perSecond[type] = (rate.perSecond[type] || 0) + count;
  const total = Object.values(rate.perSecond).reduce((a, b) => a + b, 0);
  if (total > 0) {
    desk.moments = desk.moments.filter((m) => m.at !== rate.at);
    desk.moments.push({ at: rate.at, total, perSecond: { ...rate.perSecond } });
    desk.moments.sort((a, b) => b.total - a.total);
    desk.moments.length = Math.min(desk.moments.length, 5);
    $("moments").replaceChildren(...desk.moments.map((m) => {
      const item = document.createElement("li");
      item.textContent = `${new Date(m.at).toLocaleTimeString()}: ${m.total}/s ` +
        Object.entries(m.perSecond).map(([type, n]) => `${type} ${n}`).join(", ");
      return item;
    }));
  }
  draw();
}

function showTotals() {
  say("totals", "Totals: " + (Object.entries(desk.totals).map(([type, n]) => `${type} ${n}`).join(" · ") || "none yet"));
}

// ---- Comments: delete, ban, held, audit.

function commentItem(comment) {
  const item = document.createElement("li");
  item.dataset.id = comment.id;
  item.dataset.author = comment.authorId;
  const author = document.createElement("strong");
  author.textContent = `${comment.author} (${comment.authorId})`;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "Delete";
  remove.addEventListener("click", () => act(() =>
    api("DELETE", `/api/streams/${encodedName}/comments/${comment.id}?reason=${encodeURIComponent($("reason").value)}`)));
  const ban = document.createElement("button");
  ban.type = "button";
  ban.textContent = "Ban";
  ban.addEventListener("click", () => act(() =>
    api("POST", `/api/streams/${encodedName}/bans`, { sub: comment.authorId, reason: $("reason").value })));
  item.append(author, document.createTextNode(" " + comment.text), remove, ban);
  return item;
}

async function act(action) {
  try {
    await action();
    say("desk-note", "");
  } catch (error) {
    say("desk-note", error.message);
  }
  loadAudit();
}

function addComment(comment) {
  if ($("comments").querySelector(`[data-id="${CSS.escape(String(comment.id))}"]`)) return;
  $("comments").append(commentItem(comment));
  while ($("comments").children.length > 300) $("comments").firstElementChild.remove();
  desk.comments = $("comments").children.length;
}

function removeComments(predicate) {
  for (const item of [...$("comments").children]) if (predicate(item)) item.remove();
  desk.comments = $("comments").children.length;
}

async function loadComments() {
  const { comments } = await api("GET", `/api/streams/${encodedName}/comments?limit=100`);
  for (const comment of comments.reverse()) addComment(comment);
}

async function loadAudit() {
  const body = await api("GET", `/api/streams/${encodedName}/audit`).catch(() => null);
  if (!body) return;
  $("audit").replaceChildren(...body.entries.slice(-50).reverse().map((entry) => {
    const item = document.createElement("li");
    item.textContent = `${entry.action} ${entry.subject} by ${entry.actor}${entry.reason ? ` (${entry.reason})` : ""}`;
    return item;
  }));
}

// ---- Events.

function handleEvent(event) {
  switch (event.type) {
    case "stream.status":
      $("live-badge").textContent = event.status;
      $("live-badge").className = event.status === "live" ? "badge live" : "badge offline";
      break;
    case "comment.created": addComment(event.comment); break;
    case "comment.deleted": removeComments((item) => item.dataset.id === String(event.id)); loadAudit(); break;
    case "user.banned": removeComments((item) => item.dataset.author === event.sub); loadAudit(); break;
    case "comment.held": {
      const item = document.createElement("li");
      item.textContent = `${event.author} (${event.authorId}): ${event.text}`;
      $("held").prepend(item);
      desk.held += 1;
      break;
    }
    case "reactions":
      for (const [type, count] of Object.entries(event.counts)) desk.totals[type] = (desk.totals[type] || 0) + count;
      noteReactions(event.counts, event.at || Date.now());
      showTotals();
      break;
    case "viewers": showViewers(event); break;
  }
}

function showViewers(event) {
  desk.viewers = event;
  const rows = [["event channel", `${event.viewers} viewers, ${event.moderators} moderators`]];
  if (event.webrtc) {
    rows.push(["WebRTC", `${event.webrtc.total}`]);
    for (const [rung, count] of Object.entries(event.webrtc.byLayer || {})) rows.push([`  ${rung}`, `${count}`]);
  }
  if (event.http) rows.push(["HLS / DASH", `${event.http.hls} / ${event.http.dash}`]);
  facts("viewers", rows);
}

function facts(id, rows) {
  $(id).replaceChildren(...rows.flatMap(([label, value]) => {
    const term = document.createElement("dt");
    term.textContent = label;
    const detail = document.createElement("dd");
    detail.textContent = value;
    return [term, detail];
  }));
}

let socket = null;
function connectEvents() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/api/streams/${encodedName}/events?token=${encodeURIComponent(token)}`);
  socket.onmessage = (message) => { try { handleEvent(JSON.parse(message.data)); } catch (error) { /* ignored */ } };
  socket.onclose = () => setTimeout(connectEvents, 2000);
}

// ---- Flashes.

$("flash-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const kind = $("flash-kind").value;
  const pinned = kind === "disclaimer" && $("flash-pinned").checked;
  const body = { kind, text: $("flash-text").value, severity: $("flash-severity").value, pinned };
  if (!pinned) body.durationSeconds = Number($("flash-duration").value);
  api("POST", `/api/streams/${encodedName}/flashes`, body)
    .then(() => { say("flash-note", "Sent."); $("flash-text").value = ""; })
    .catch((error) => say("flash-note", error.message));
});
$("unpin").addEventListener("click", () => {
  api("DELETE", `/api/streams/${encodedName}/flashes/pinned`)
    .then(() => say("flash-note", "Unpinned."))
    .catch((error) => say("flash-note", error.message));
});

// ---- Ingest health, each second.

async function refreshIngest() {
  const stream = await api("GET", `/api/streams/${encodedName}`).catch(() => null);
  if (!stream) return;
  if (desk.admin) showPublish(stream);
  const ingest = stream.ingest;
  if (!ingest) return facts("ingest", [["ingest", "no publisher"]]);
  const { video, audio } = ingest;
  facts("ingest", [
    ["video", video ? `${video.codec} ${video.width}×${video.height} @ ${video.fps ?? "?"} fps` : "none"],
    ["audio", audio ? `${audio.codec} ${audio.sampleRate} Hz × ${audio.channels}` : "none"],
    ["bitrate", `${ingest.bitrateKbps} kb/s`],
    ["frames", `${ingest.videoFrames ?? "?"} video, ${ingest.audioFrames ?? "?"} audio`],
  ]);
}

// ---- Operator: publish key, rotation, tokens.

function showPublish(stream) {
  desk.publish = stream;
  facts("publish", [["RTMP URL", stream.ingestURL || "–"], ["publish key", stream.publishKey || "–"],
                    ["private", String(stream.private)]]);
}

$("copy-key").addEventListener("click", () => {
  const stream = desk.publish;
  if (stream) navigator.clipboard?.writeText(`${stream.ingestURL}/${stream.publishKey}`).catch(() => {});
});
$("rotate").addEventListener("click", () => act(async () => showPublish(await api("POST", `/api/streams/${encodedName}/rotate-key`))));
$("create-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("create-name").value;
  act(async () => {
    await api("POST", "/api/streams", { name, private: $("create-private").checked });
    location.href = `/moderate/${encodeURIComponent(name)}?token=${encodeURIComponent(token)}`;
  });
});
$("mint-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const role = $("mint-role").value;
  act(async () => {
    const minted = await api("POST", `/api/streams/${encodedName}/tokens`,
                             { role, sub: $("mint-sub").value, name: $("mint-name").value, ttlSeconds: 86400 });
    const page = role === "moderator" ? "moderate" : "watch";
    say("minted", `${location.origin}/${page}/${encodedName}?token=${minted.token}`);
  });
});

async function start() {
  if (!token) {
    say("desk-note", "This page needs a moderator token of the stream (or the admin token): add ?token=… to the address.");
    return;
  }
  try {
    await loadComments();
  } catch (error) {
    say("desk-note", `${error.message}. A moderator token of this stream (or the admin token) is needed.`);
    return;
  }
  desk.admin = await api("GET", "/api/streams").then(() => true).catch(() => false);
  $("admin").hidden = !desk.admin;
  const totals = await api("GET", `/api/streams/${encodedName}/reactions`).catch(() => null);
  if (totals) Object.assign(desk.totals, totals.totals);
  showTotals();
  loadAudit();
  connectEvents();
  refreshIngest();
  setInterval(refreshIngest, 1000);
  setInterval(loadAudit, 5000);
  setInterval(() => { bucket(Date.now()); draw(); }, 1000);  // the chart scrolls when nothing comes
  draw();
}

start();
