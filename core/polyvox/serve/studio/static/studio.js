// polyvox studio: the page's behaviour. Plain JavaScript, no dependencies (docs/studio.md).
// Every call sends the key typed above (kept in sessionStorage) as a Bearer header; renders
// are server-sent events read from a streamed fetch, since EventSource cannot send headers.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "polyvox-studio-key";
// The script being written, kept in this browser so a reload (F5, a phone's pull) does not lose it.
const DRAFT = "polyvox-studio-script";
const state = { voices: [], blends: false, cast: {}, job: null, segments: [], words: [], busy: null,
                urls: {}, outputUrl: null, book: null, finishedJob: null, kept: null, showingFinished: false };
// Files the server opens as books (their chapters become the script's "# Title" lines).
const BOOKS = [".epub", ".md", ".markdown", ".html", ".htm", ".xhtml", ".txt"];
// Files read as text whatever they hold; any other file is read as text only if it is text.
const TEXTS = [".srt", ".vtt", ".tas", ".ssml", ".xml"];
// The loudness select's choices: a target in LUFS and a true-peak ceiling in dBTP (ACX: Audible's).
const LOUDNESS = { "": {}, "-18": { loudness: -18 }, "-16": { loudness: -16 },
                   acx: { loudness: -18, true_peak: -3.5, chapter_rms: -20, room_tone: -70 } };

function count(n, noun) { return n + " " + noun + (n === 1 ? "" : "s"); }
function say(text) { $("status").textContent = text; }
function fail(message) { const box = $("error"); box.textContent = message; box.hidden = !message; }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = "Bearer " + key;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = Object.assign({}, options, { body: JSON.stringify(options.json) });
  }
  const response = await fetch(path, Object.assign({}, options, { headers, credentials: "omit" }));
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error.message || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

// A URL of the response's audio for one `use` (the player, a segment, a preview, a download): the
// one that use had before is given back, so a long session holds one copy of each, not every take.
async function blobUrl(response, use) {
  const url = URL.createObjectURL(await response.blob());
  if (state.urls[use]) URL.revokeObjectURL(state.urls[use]);
  state.urls[use] = url;
  return url;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

// -- voices and engines ------------------------------------------------------------------
async function loadVoices() {
  const data = await (await api("/studio/api/voices")).json();
  state.voices = data.voices;
  state.blends = data.engines.some((e) => e.blends);
  // the blend field's example names two voices this server has (af_bella is not everywhere)
  const blender = data.engines.find((e) => e.blends && e.voices.length > 1);
  state.blendExample = blender ? blender.voices[0] + ":0.6+" + blender.voices[1] + ":0.4" : "";
  const body = $("engines").tBodies[0];
  body.replaceChildren(...data.engines.map((e) => el("tr", {},
    el("td", { text: e.name, title: e.description }), el("td", { text: e.models.join(", ") || "-" }),
    el("td", { text: String(e.voices.length) }), el("td", { text: e.languages.join(", ") }))));
}

async function loadModels() {
  const data = await (await api("/studio/api/models")).json();
  $("models").tBodies[0].replaceChildren(...data.models.map((m) => {
    const name = m.engine + ":" + m.model;
    const cell = el("td", {});
    if (m.state === "missing" || m.state === "partial") {
      cell.append(el("button", { type: "button", text: "Pull", "aria-label": "Pull " + name,
                                 onclick: (e) => pull(m, e.target) }));
    }
    return el("tr", { "data-model": name }, el("th", { scope: "row", text: name }),
              el("td", { class: "model-state", text: m.state + (m.size ? " (" + m.size + ")" : "") }), cell);
  }));
}

async function pull(m, button) {
  fail("");
  const name = m.engine + ":" + m.model;
  const bar = el("progress", { max: "1", value: "0", "aria-label": "Pulling " + name });
  button.replaceWith(bar);
  let failed = null;
  let pulled = false;
  await events("/studio/api/models/pull", { engine: m.engine, model: m.model }, (event) => {
    if (event.type === "progress" && event.total) { bar.max = event.total; bar.value = event.done; }
    else if (event.type === "progress") bar.removeAttribute("value");
    else if (event.type === "error") failed = event.error.message;
    else if (event.type === "pulled") pulled = true;
  }, { render: false });  // a pull is no render: the Render and Cancel buttons stay the render's
  if (failed) fail(failed); else if (pulled) say("Pulled " + name + ".");
  await loadModels();
}

function voicePicker(character) {
  const select = el("select", { id: "voice-" + character, "aria-label": "Voice for " + character,
                                "data-character": character });
  select.append(el("option", { value: "", text: "default voice" }));
  for (const v of state.voices) select.append(el("option", { value: v.id, text: v.label }));
  const chosen = state.cast[character] || "";
  if (chosen && !state.voices.some((v) => v.id === chosen)) select.append(el("option", { value: chosen, text: chosen }));
  select.value = chosen;
  select.addEventListener("change", () => { state.cast[character] = select.value; });
  return select;
}

function showCast(characters) {
  const body = $("cast").tBodies[0];
  body.replaceChildren(...characters.map((name) => {
    const picker = voicePicker(name);
    const cell = el("td", {}, picker);
    if (state.blends) {
      const blend = el("input", { "aria-label": "Blend for " + name, size: "18",
                                  placeholder: state.blendExample ? "or a blend: " + state.blendExample : "or a blend" });
      // an emptied blend gives the character back the voice its menu shows
      blend.addEventListener("change", () => { state.cast[name] = blend.value.trim() || picker.value; });
      cell.append(" ", blend);
    }
    return el("tr", {}, el("th", { scope: "row", text: name }), cell,
              el("td", {}, el("button", { type: "button", text: "Preview", "aria-label": "Preview " + name,
                                          onclick: () => preview(name) })));
  }));
  $("cast").hidden = characters.length === 0;
  $("cast-empty").hidden = characters.length > 0;
}

async function preview(character) {
  fail("");
  const voice = state.cast[character];  // none: the narrator's default voice
  if (!voice && character !== "narrator") { say("Pick a voice for " + character + " first."); return; }
  try {
    const response = await api("/studio/api/preview", { method: "POST", json: voice ? { voice } : {} });
    const warning = response.headers.get("X-Polyvox-Warning");
    const url = await blobUrl(response, "preview");
    $("preview-player").src = url;
    await $("preview-player").play();
    say("Preview: " + (voice || "the default voice") + (warning ? " (" + warning + ")" : ""));
  } catch (e) { fail(e.message); }
}

// -- script ---------------------------------------------------------------------------------
async function check() {
  fail("");
  try {
    const data = await (await api("/studio/api/parse", { method: "POST",
                                   json: { script: $("script").value, cast: state.cast, book: state.book } })).json();
    $("warnings").replaceChildren(...data.warnings.map((w) =>
      el("li", { text: (w.line && !w.message.startsWith("line ") ? "line " + w.line + ": " : "") + w.message,
                 "data-line": w.line || "" })));
    showCast(data.characters);
    say(data.segments.length + " segments, " + data.characters.length + " characters, " +
        data.warnings.length + " warnings.");
    return data;
  } catch (e) {
    fail(e.message);
    say("");  // the last check's counts and cast are not this script's
    $("warnings").replaceChildren();
    showCast([]);
    return null;
  }
}

async function autocast() {
  fail("");
  try {
    const data = await (await api("/studio/api/autocast", { method: "POST",
                                   json: { script: $("script").value, book: state.book } })).json();
    const before = Object.assign({}, state.cast);
    Object.assign(state.cast, data.cast);
    if (!(await check())) { state.cast = before; return; }  // a cast the server refuses is not kept
    say("Cast: " + Object.entries(data.cast).map(([c, v]) => c + " → " + v).join(", "));
  } catch (e) { fail(e.message); }
}

// -- rendering --------------------------------------------------------------------------------
// The events that end a stream; one that stops before any of them was cut off.
const ENDS = new Set(["done", "cancelled", "error", "pulled"]);

// POST `json` to `path` and hand each server-sent event to `onEvent`; true when the stream ended
// with one of ENDS. A render's stream (`render`) holds the Render and Cancel buttons while it runs.
async function events(path, json, onEvent, { render = true } = {}) {
  const controller = new AbortController();
  if (render) {
    state.busy = controller;
    $("cancel").disabled = false;
    $("render").disabled = true;
  }
  let ended = false;
  try {
    const response = await api(path, { method: "POST", json, signal: controller.signal });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of block.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          const event = JSON.parse(line.slice(6));
          ended = ended || ENDS.has(event.type);
          onEvent(event);
        }
      }
    }
    if (!ended) throw new Error("the server ended the stream before it finished: try again");
  } catch (e) {
    if (e.name !== "AbortError") {
      // fetch and reading a stream fail with a TypeError ("Failed to fetch", "network error") when
      // the connection is gone: say that, not the browser's words alone
      fail(e instanceof TypeError ? "Lost the connection to the server (" + e.message + "): is it still running?"
                                  : e.message);
      say("");
      if (render) settle();
    }
  } finally {
    if (render) {
      state.busy = null;
      $("cancel").disabled = true;
      $("render").disabled = false;
    }
  }
  return ended;
}

// After a pass that did not finish (cancelled, failed, cut off): segments it did not make say so,
// and the last finished render's segments can be played, retaken and edited again. A new render
// that did not finish has no output to retake from: the last finished render comes back.
function settle() {
  for (const item of document.querySelectorAll("#segments li.waiting")) {
    item.className = "unmade";
    item.querySelector(".state").textContent = "not made";
  }
  if (!state.showingFinished && state.kept) {  // a new render, a retake or an edit that did not finish
    Object.assign(state, { job: state.kept.job, planned: state.kept.planned, subtitles: state.kept.subtitles,
                           segments: state.kept.segments });
    $("segments").replaceChildren(...state.kept.rows);
    state.words = Array.from(document.querySelectorAll("#segments .word"));
    state.kept = null;
    state.showingFinished = true;
  }
  if (!state.showingFinished) return;  // nothing finished yet: nothing to retake or download
  $("download").disabled = false;
  if (!state.segments || state.subtitles) return;
  for (const b of document.querySelectorAll("#segments .retake, #segments .edit")) b.disabled = false;
  for (const item of document.querySelectorAll("#segments li.made .play")) item.disabled = false;
}

function row(index) { return $("segments").querySelector('li[data-index="' + index + '"]'); }

function segmentRow(s) {
  const text = el("div", { class: "text" }, s.pause ? "pause " + s.pause + " s" : s.text);
  const tools = el("div", { class: "tools" });
  const item = el("li", { "data-index": s.index, class: s.pause ? "pause made" : "waiting" },
                  el("div", { class: "who" }, s.pause ? "" : s.character || "narrator",
                     el("span", { class: "state", text: s.pause ? "" : "waiting" })), text, tools);
  if (!s.pause) {
    tools.append(
      el("button", { type: "button", class: "play", text: "Play", disabled: "", "aria-label": "Play segment " + (s.index + 1),
                     onclick: () => playSegment(s.index) }),
      el("button", { type: "button", class: "retake", text: "Retake", disabled: "",
                     "aria-label": "Retake segment " + (s.index + 1), onclick: () => retake(s.index) }),
      el("button", { type: "button", class: "edit", text: "Edit", disabled: "",
                     "aria-label": "Edit segment " + (s.index + 1), onclick: () => edit(s.index) }));
  }
  return item;
}

function onEvent(event) {
  if (event.type === "job") {
    if (state.showingFinished) {  // a new pass (a render, a retake, an edit): keep the last finished one
      state.kept = { job: state.job, planned: state.planned, subtitles: state.subtitles, segments: state.segments,
                     rows: Array.from($("segments").children) };
      state.showingFinished = false;
    }
    state.job = event.id;
    state.planned = event.segments;
    state.subtitles = event.subtitles;  // cues are placed by their times: rendered whole, never retaken
    state.total = event.segments.filter((s) => !s.pause).length;
    state.made = 0;
    $("segments").replaceChildren(...event.segments.map(segmentRow));
    $("progress").max = Math.max(1, state.total);
    $("progress").value = 0;
    $("progress-text").textContent = "0 / " + state.total;
    say("Rendering " + state.total + " segments…");
  } else if (event.type === "made") {
    const item = row(event.index);
    if (!item) return;
    item.className = "made";
    item.dataset.cached = event.cached ? "yes" : "no";
    item.querySelector(".state").textContent = event.cached ? "from the cache"
      : (event.retaken ? "made again in " : event.edited ? "new text, made in " : "made in ") + event.seconds + " s";
    item.querySelector(".play").disabled = false;
    state.made += 1;
    $("progress").value = state.made;
    $("progress-text").textContent = state.made + " / " + state.total;
  } else if (event.type === "words") {
    showWords(event.index, event.words);
  } else if (event.type === "heard") {
    const item = row(event.index);
    if (!item) return;
    const old = item.querySelector(".verdict");
    if (old) old.remove();
    item.querySelector(".who").append(el("span", { class: "verdict" + (event.passed ? "" : " bad"),
      text: event.passed ? "heard right" : "heard: “" + event.heard + "” (" + event.flags.join(", ") + ")" }));
  } else if (event.type === "warning") {
    $("warnings").append(el("li", { text: event.message }));
  } else if (event.type === "done") {
    finished(event);
  } else if (event.type === "cancelled") {
    say("Cancelled.");
    settle();
  } else if (event.type === "error") {
    fail(event.error.message);
    say("");  // not "Rendering 1 segments…" beside the error
    settle();
  }
}

function showWords(index, words) {
  const item = row(index);
  if (!item || !words.length) return;
  const text = item.querySelector(".text");
  text.replaceChildren();
  for (const w of words) {
    // not a tab stop each (a long script would put hundreds between Render and Download): the
    // segment's Play button is the keyboard's way in; a click on a word plays from it
    const button = el("button", { type: "button", class: "word", text: w.word, "data-start": w.start, "data-end": w.end,
                                  tabindex: "-1", title: "play from " + w.start.toFixed(2) + " s",
                                  onclick: () => seek(w.start) });
    text.append(button, " ");
  }
}

async function finished(event) {
  state.segments = event.segments;
  state.finishedJob = state.job;
  state.kept = null;
  state.showingFinished = true;
  for (const s of event.segments) if (!s.pause) showWords(s.index, s.words);
  state.words = Array.from(document.querySelectorAll("#segments .word"));
  for (const b of document.querySelectorAll("#segments .retake, #segments .edit")) b.disabled = state.subtitles;
  for (const v of event.verification || []) onEvent(Object.assign({ type: "heard" }, v));
  $("download").disabled = false;
  if (event.chapters && event.chapters.length) showChapters(event.chapters);
  say("Done: " + event.duration.toFixed(1) + " s of audio, " + count(event.synthesized, "segment") + " made, " +
      event.cached + " from the cache.");
  try {
    const url = await blobUrl(await api("/studio/api/renders/" + state.job + "/output.wav"), "player");
    $("player").src = url;
    $("player").dataset.job = state.job;
  } catch (e) { fail(e.message); }
}

// -- books --------------------------------------------------------------------------------------
async function openFile(file) {
  fail("");
  const name = file.name.toLowerCase();
  if (!BOOKS.some((suffix) => name.endsWith(suffix))) {
    const text = await file.text();
    if (!TEXTS.some((suffix) => name.endsWith(suffix)) && (text.includes("\u0000") || text.includes("\ufffd"))) {
      // a .docx, a PDF, an image: its bytes are no script (the script stays as it was)
      return fail("Cannot open " + file.name + ": the studio opens scripts (.txt), subtitles (.srt, .vtt), " +
                  "SSML and books (.epub, .md, .html).");
    }
    setBook(null);
    $("script").value = text;
    return check();
  }
  try {
    const response = await api("/studio/api/books?name=" + encodeURIComponent(file.name),
                               { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
    const opened = await response.json();
    $("script").value = opened.script;
    setBook(opened.book);
    await check();
  } catch (e) { fail(e.message); }
}

function setBook(book) {
  state.book = book ? book.id : null;
  state.bookTitles = book ? book.chapters.map((c) => c.title).filter(Boolean) : [];
  $("book").hidden = !book;
  if (!book) return;
  $("book-title").textContent = [book.title, book.author].filter(Boolean).join(" by ") || "Book";
  showChapters(book.chapters.map((c) => ({ title: c.title })));
}

function showChapters(chapters) {
  $("chapters").replaceChildren(...chapters.map((c) => el("li", {},
    c.start === undefined ? c.title || "(untitled)"
      : el("button", { type: "button", class: "chapter", text: c.title + " (" + c.start.toFixed(1) + " s)",
                       onclick: () => seek(c.start) }))));
}

async function render() {
  fail("");
  say("Starting the render…");
  $("warnings").replaceChildren();
  $("download").disabled = true;
  const body = Object.assign({ script: $("script").value, cast: state.cast, book: state.book,
                               after: state.finishedJob },  // its retakes' chosen takes are kept
                             LOUDNESS[$("loudness").value]);
  await events("/studio/api/renders", body, onEvent);
}

async function retake(index, text) {
  fail("");
  $("warnings").replaceChildren();  // the pass sends its warnings again
  const body = text === undefined ? {} : { text };
  say((text === undefined ? "Retaking" : "Re-rendering") + " segment " + (index + 1) + "…");
  const planned = (state.planned || []).find((s) => s.index === index);
  await events("/studio/api/renders/" + state.job + "/segments/" + index, body, onEvent);
  if (text !== undefined && planned && !$("error").textContent) {
    if (!writeBack(planned, text)) {
      $("warnings").append(el("li", { text: "Segment " + (index + 1) + " was made with its new text, but its line " +
                                            "was not found in the script: the next render speaks the old text." }));
    }
    planned.text = text;
  }
  if (text === undefined) {  // the rows were made anew: the keyboard stays on the segment retaken
    const button = row(index) && row(index).querySelector(".retake");
    if (button) button.focus();
  }
}

// An edited segment's new text goes into the script too, so the next render keeps it: on its line
// (in a book counted from its chapter's start, so the first line from there on that holds it), its
// words found whatever the spaces between them. False when no line holds them.
function writeBack(segment, text) {
  const lines = $("script").value.split("\n");
  const words = segment.text.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (!words.length) return false;
  const pattern = new RegExp(words.join("\\s+"));
  const from = Math.max(0, Math.min(lines.length, (segment.line || 1) - 1));
  // on its own line, its own occurrence: "Run. [pause:1s] Run." holds two segments' words
  const twins = (state.planned || []).filter((s) => s.line === segment.line && s.text === segment.text &&
                                                  s.index < segment.index).length;
  const column = (i) => {
    if (i !== from || !twins) return 0;
    const found = [...lines[i].matchAll(new RegExp(pattern.source, "g"))];
    return found.length > twins ? found[twins].index : 0;
  };
  const order = [...lines.keys()].slice(from).concat([...lines.keys()].slice(0, from));
  const at = order.find((i) => pattern.test(lines[i].slice(column(i))));
  if (at === undefined) return false;
  const replacement = text.replace(/\s+/g, " ").trim();
  const start = column(at);
  lines[at] = lines[at].slice(0, start) + lines[at].slice(start).replace(pattern, () => replacement);
  $("script").value = lines.join("\n");
  return true;
}

function edit(index) {
  const item = row(index);
  const text = item.querySelector(".text");
  const open = text.querySelector("textarea");
  if (open) { open.focus(); return; }  // already editing (Edit pressed again, or after a refused save)
  const planned = (state.planned || []).find((s) => s.index === index);
  const current = planned ? planned.text : Array.from(text.querySelectorAll(".word")).map((w) => w.textContent).join(" ");
  const box = el("textarea", { rows: "2", "aria-label": "New text of segment " + (index + 1) });
  box.value = current;
  const save = el("button", { type: "button", class: "save", text: "Save and re-render",
                              onclick: async () => { await retake(index, box.value); focusRow(index); } });
  const cancel = el("button", { type: "button", class: "cancel-edit", text: "Cancel",
                                onclick: () => { text.replaceChildren(before); focusRow(index); } });
  const before = document.createDocumentFragment();
  before.append(...text.childNodes);
  box.addEventListener("keydown", (e) => { if (e.key === "Escape") cancel.click(); });
  text.replaceChildren(box, save, " ", cancel);
  box.focus();
}

// After an edit the row's buttons are new: keyboard focus goes back to its Edit button.
function focusRow(index) {
  const button = row(index) && row(index).querySelector(".edit");
  if (button) button.focus();
}

async function playSegment(index) {
  fail("");
  try {
    const url = await blobUrl(await api("/studio/api/renders/" + state.job + "/segments/" + index + ".wav"), "segment");
    $("segment-player").src = url;
    await $("segment-player").play();
  } catch (e) { fail(e.message); }
}

// -- read along ---------------------------------------------------------------------------------
function seek(seconds) {
  const player = $("player");
  if (!player.src) return;
  player.currentTime = seconds + 0.001;
  player.play().catch(() => {});
}

function follow() {
  const t = $("player").currentTime;
  let now = null;
  for (const w of state.words) {
    if (Number(w.dataset.start) <= t && t < Number(w.dataset.end)) { now = w; break; }
  }
  for (const w of document.querySelectorAll("#segments .word.now")) {
    if (w !== now) { w.classList.remove("now"); w.removeAttribute("aria-current"); }
  }
  if (now && !now.classList.contains("now")) { now.classList.add("now"); now.setAttribute("aria-current", "true"); }
  if (!$("player").paused) requestAnimationFrame(follow);
}

async function download() {
  fail("");
  const fmt = $("format").value;
  try {
    const response = await api("/studio/api/renders/" + state.job + "/output." + fmt);
    const url = await blobUrl(response, "download");
    const link = el("a", { href: url, download: fileName(response, "polyvox-studio." + fmt) });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (e) { fail(e.message); }
}

// The name the server gives a download (Content-Disposition), else `fallback`.
function fileName(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (encoded) { try { return decodeURIComponent(encoded[1]); } catch (e) { /* malformed: the plain name */ } }
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}

async function upload(event) {
  event.preventDefault();
  fail("");
  try {
    const response = await api("/v1/audio/voices", { method: "POST", body: new FormData($("upload")) });
    const card = await response.json();
    $("upload").reset();
    await loadVoices();
    if ($("cast").tBodies[0].rows.length) await check();  // the pickers offer it too
    say("Uploaded the voice " + card.name + ".");
  } catch (e) { fail(e.message); }
}

async function start() {
  fail("");
  try { await loadVoices(); await loadModels(); say("Ready."); } catch (e) { fail(e.message); }
}

document.addEventListener("DOMContentLoaded", () => {
  $("key").value = sessionStorage.getItem(KEY) || "";
  if (!$("script").value) $("script").value = localStorage.getItem(DRAFT) || "";
  const keep = () => { try { localStorage.setItem(DRAFT, state.book ? "" : $("script").value); } catch (e) { /* full */ } };
  $("script").addEventListener("change", keep);
  window.addEventListener("pagehide", keep);
  // a reload while a render runs would end it: the browser asks first
  window.addEventListener("beforeunload", (e) => { if (state.busy) { e.preventDefault(); e.returnValue = ""; } });
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("key").value.trim();
    if (/[^\x21-\x7e]/.test(key)) {  // a header carries ASCII only: the browser's own error said "network"
      fail("An API key is ASCII letters, digits and punctuation; this one has other characters: check it.");
      return;
    }
    sessionStorage.setItem(KEY, key);
    start();
  });
  $("open").addEventListener("change", async () => {
    const file = $("open").files[0];
    if (file) openFile(file);
  });
  $("unbook").addEventListener("click", () => setBook(null));
  // a script that is no longer the book's (none of its chapter titles left) is no book
  $("script").addEventListener("input", () => {
    const titles = state.bookTitles || [];
    if (state.book && titles.length && !titles.some((t) => $("script").value.includes(t))) setBook(null);
  });
  $("check").addEventListener("click", check);
  $("autocast").addEventListener("click", autocast);
  $("render").addEventListener("click", render);
  $("cancel").addEventListener("click", () => {
    if (state.job) api("/studio/api/renders/" + state.job + "/cancel", { method: "POST" }).catch(() => {});
    if (state.busy) state.busy.abort();
    say("Cancelled.");
    settle();
  });
  $("download").addEventListener("click", download);
  $("upload").addEventListener("submit", upload);
  $("player").addEventListener("play", () => requestAnimationFrame(follow));
  $("player").addEventListener("seeked", follow);
  $("player").addEventListener("timeupdate", follow);
  start();
});
