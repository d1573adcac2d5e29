// The msgsim run viewer: draws the run embedded in #msgsim-data (see src/export/html.rs for
// its layout) as a space-time diagram on a canvas, time left to right, a lane per node.
// Everything it shows comes from that JSON; it fetches nothing.
(function () {
  "use strict";

  const started = performance.now();
  const raw = JSON.parse(document.getElementById("msgsim-data").textContent);
  if (raw.version !== 1) {
    throw new Error("msgsim viewer: data version " + raw.version + ", this page reads version 1");
  }

  // ---- The data, as objects -------------------------------------------------------------
  const names = raw.nodes;
  const events = raw.events.map(function (r) {
    return { g: r[0], t: r[1], kind: r[2], a: r[3], b: r[4], markNode: r[5], mark: r[6], shown: r[7] === 1, line: r[8], vc: r[9] };
  });
  const byG = new Map();
  events.forEach(function (e, i) { e.i = i; byG.set(e.g, e); });
  const copies = raw.copies.map(function (r, i) {
    return {
      i: i, msg: r[0], from: r[1], to: r[2], sent: r[3], end: r[4], fate: r[5], reason: r[6], queued: r[7],
      dup: r[8] === 1, sendG: r[9], endG: r[10], arriveG: r[11], startG: r[12],
    };
  });
  const periods = raw.periods.map(function (r) {
    return { node: r[0], action: r[1], index: r[2], start: r[3], end: r[4] };
  });
  const runEnd = raw.end;

  // A typical trip, for drawing how far a copy still in flight has got.
  const trips = copies.filter(function (c) { return c.fate === "recv" || c.fate === "corrupt"; })
    .map(function (c) { return (c.queued !== null ? c.queued : c.end) - c.sent; })
    .sort(function (x, y) { return x - y; });
  const typicalTrip = trips.length ? Math.max(trips[trips.length >> 1], 1) : Math.max((raw.to - raw.from) / 10, 1);

  // Copies by send time, for drawing only those in view: a copy is in view if it was sent
  // before the view's end and ended after its start. Most trips are short, so copies sent
  // long before the view cannot reach it; the few long ones are kept aside and always tested.
  function lastTime(c) { return c.end !== null ? c.end : Infinity; }
  const longTrip = trips.length ? Math.max(trips[Math.floor(trips.length * 0.99)] * 2, 1) : 1;
  const bySent = copies.filter(function (c) { return lastTime(c) - c.sent <= longTrip; })
    .sort(function (x, y) { return x.sent - y.sent || x.i - y.i; });
  const longCopies = copies.filter(function (c) { return lastTime(c) - c.sent > longTrip; });

  // ---- State --------------------------------------------------------------------------
  const full = { from: raw.from, to: Math.max(raw.to, raw.from + 1000) };
  const initial = {
    nodes: new Set(raw.selected_nodes),
    kinds: new Set(raw.selected_kinds),
    from: raw.from,
    to: raw.to,
  };
  const state = {
    t0: full.from,
    t1: full.to,
    cursor: null, // an event
    selected: null, // { type: "copy", copy } or { type: "event", event }
    past: null, // Set of g in the selected event's causal past
    playing: null,
    filter: { nodes: new Set(initial.nodes), kinds: new Set(initial.kinds), from: initial.from, to: initial.to },
  };

  // ---- Filters: the same rules as `msgsim trace --node --kind --from --to` ----------------
  function nodeSelected(n) { return state.filter.nodes.size === 0 || state.filter.nodes.has(n); }
  function kindSelected(k) { return state.filter.kinds.size === 0 || state.filter.kinds.has(k); }
  function overlaps(start, end) { return end >= state.filter.from && start <= state.filter.to; }
  function involves(e) { return (e.a < 0 && e.b < 0) || (e.a >= 0 && nodeSelected(e.a)) || (e.b >= 0 && nodeSelected(e.b)); }
  function showsEvent(e) { return e.shown && overlaps(e.t, e.t) && kindSelected(e.kind) && involves(e); }
  function showsCopy(c) {
    const endKind = c.fate === "recv" || c.fate === "corrupt" ? "recv" : c.fate === "drop" ? "drop" : null;
    const kinds = ["send", endKind, c.queued !== null ? "queue" : null, c.dup ? "dup" : null, c.fate === "corrupt" ? "corrupt" : null];
    return overlaps(c.sent, lastTime(c)) && (nodeSelected(c.from) || nodeSelected(c.to)) &&
      kinds.some(function (k) { return k !== null && kindSelected(k); });
  }

  // Derived from the filters: the events the cursor steps through, which copies are shown,
  // and the lanes (the selected nodes and whoever they exchanged shown messages with).
  let steps = [];
  let copyShown = [];
  let lanes = [];
  let laneOf = [];
  function applyFilter() {
    steps = events.filter(showsEvent);
    copyShown = copies.map(showsCopy);
    const wanted = names.map(function (_, n) { return nodeSelected(n); });
    copies.forEach(function (c) { if (copyShown[c.i]) { wanted[c.from] = true; wanted[c.to] = true; } });
    lanes = [];
    laneOf = names.map(function (_, n) { if (wanted[n]) { lanes.push(n); return lanes.length - 1; } return -1; });
    if (state.cursor && !showsEvent(state.cursor)) { state.cursor = null; }
  }

  // ---- The page -----------------------------------------------------------------------
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (k === "class") { node.className = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function ms(ns) {
    // Milliseconds with up to six decimals, trailing zeros dropped.
    const whole = Math.floor(ns / 1e6);
    const frac = String(ns % 1e6).padStart(6, "0").replace(/0+$/, "");
    return frac ? whole + "." + frac : String(whole);
  }

  const root = document.getElementById("viewer");
  root.appendChild(el("h1", { text: raw.name + " (seed " + raw.seed + ")" }));
  root.appendChild(el("div", { class: "sub", text: ms(raw.from) + " ms to " + ms(raw.to) + " ms of a run that ended at " + ms(runEnd) +
    " ms: " + events.filter(function (e) { return e.shown; }).length + " events, " + copies.length + " message copies" }));

  const readout = el("span", { class: "readout" });
  function button(label, title, action) {
    const b = el("button", { type: "button", title: title, text: label });
    b.addEventListener("click", action);
    return b;
  }
  const playButton = button("play", "play or pause (space)", function () { togglePlay(); });
  root.appendChild(el("div", { class: "bar" }, [
    button("|<", "to the first event (Home)", function () { seek(0); }),
    button("<", "previous event (left arrow)", function () { step(-1); }),
    playButton,
    button(">", "next event (right arrow)", function () { step(1); }),
    button(">|", "to the last event (End)", function () { seek(steps.length - 1); }),
    button("-", "zoom out", function () { zoom(2, 0.5); }),
    button("+", "zoom in", function () { zoom(0.5, 0.5); }),
    button("fit", "show the whole window", function () { fit(); }),
    readout,
    el("span", { class: "hint", text: "space plays, arrows step; wheel zooms, drag pans; click for details" }),
  ]));

  const checkList = el("ul", { class: "checks" });
  root.appendChild(checkList);
  raw.checks.forEach(function (c) {
    const li = el("li", {}, [el("span", { class: "verdict " + c[1], text: c[1].toUpperCase() }), el("b", { text: c[0] + " " }), el("span", { text: c[2] })]);
    if (c[3] !== null) {
      const e = byG.get(c[3]);
      if (e) {
        const link = el("a", { "data-g": String(e.g), text: " first violation: event " + e.g + " at " + ms(e.t) + " ms" });
        link.addEventListener("click", function () { goTo(e); });
        li.appendChild(link);
      } else {
        li.appendChild(el("span", { class: "empty", text: " (its first violation, event " + c[3] + ", is outside this export)" }));
      }
    }
    checkList.appendChild(li);
  });

  const plot = el("div", { class: "plot" });
  const canvas = el("canvas");
  const tip = el("div", { class: "tip" });
  plot.appendChild(canvas);
  plot.appendChild(tip);
  root.appendChild(plot);
  root.appendChild(legend());

  const detailsBody = el("div", { class: "details" }, [el("p", { class: "empty", text: "Click a message or an event." })]);
  const flightList = el("ul", { class: "flight" });
  const flightTitle = el("h2", { text: "In flight at the cursor" });
  const filterForm = filters();
  root.appendChild(el("div", { class: "panels" }, [
    el("div", { class: "panel" }, [el("h2", { text: "Details" }), detailsBody]),
    el("div", { class: "panel" }, [flightTitle, flightList]),
    el("div", { class: "panel filters" }, [el("h2", { text: "Filters" }), filterForm]),
  ]));

  function legend() {
    const items = [["#1f4e79", "solid", "received"], ["#8e44ad", "dashed", "second copy (duplicate)"], ["#e67e22", "solid", "corrupted"],
      ["#c0392b", "dotted", "dropped (x)"], ["#888", "dotted", "in flight at the end"], ["#d62828", "solid", "cursor"]];
    const box = el("div", { class: "legend" });
    items.forEach(function (it) {
      const swatch = el("i");
      swatch.style.borderTopColor = it[0];
      swatch.style.borderTopStyle = it[1];
      box.appendChild(el("span", {}, [swatch, document.createTextNode(it[2])]));
    });
    box.appendChild(el("span", { text: "hatched: down; yellow: paused; orange band: partition; green dot: delivery" }));
    return box;
  }

  function filters() {
    const form = el("form");
    form.addEventListener("submit", function (ev) { ev.preventDefault(); });
    const nodeBoxes = el("fieldset", { id: "filter-nodes" }, [el("legend", { text: "nodes (none ticked: all)" })]);
    names.forEach(function (name, n) {
      const box = el("input", { type: "checkbox", value: String(n), "data-node": name });
      box.checked = state.filter.nodes.has(n);
      box.addEventListener("change", function () {
        if (box.checked) { state.filter.nodes.add(n); } else { state.filter.nodes.delete(n); }
        refilter();
      });
      nodeBoxes.appendChild(el("label", {}, [box, document.createTextNode(" " + name)]));
    });
    const kindBoxes = el("fieldset", { id: "filter-kinds" }, [el("legend", { text: "kinds (none ticked: all)" })]);
    raw.kinds.forEach(function (k) {
      const box = el("input", { type: "checkbox", value: k, "data-kind": k });
      box.checked = state.filter.kinds.has(k);
      box.addEventListener("change", function () {
        if (box.checked) { state.filter.kinds.add(k); } else { state.filter.kinds.delete(k); }
        refilter();
      });
      kindBoxes.appendChild(el("label", {}, [box, document.createTextNode(" " + k)]));
    });
    const from = el("input", { type: "number", step: "any", min: "0", id: "filter-from", value: ms(state.filter.from) });
    const to = el("input", { type: "number", step: "any", min: "0", id: "filter-to", value: ms(state.filter.to) });
    function applyWindow() {
      const f = Math.round(parseFloat(from.value) * 1e6);
      const t = Math.round(parseFloat(to.value) * 1e6);
      if (!(f >= 0) || !(t >= f)) { return; }
      state.filter.from = Math.max(f, full.from);
      state.filter.to = Math.min(t, full.to);
      state.t0 = state.filter.from;
      state.t1 = Math.max(state.filter.to, state.t0 + 1000);
      refilter();
    }
    from.addEventListener("change", applyWindow);
    to.addEventListener("change", applyWindow);
    const reset = button("reset", "the export's own selection", function () {
      state.filter = { nodes: new Set(initial.nodes), kinds: new Set(initial.kinds), from: initial.from, to: initial.to };
      form.querySelectorAll("input[type=checkbox]").forEach(function (b) {
        b.checked = b.dataset.node !== undefined ? state.filter.nodes.has(Number(b.value)) : state.filter.kinds.has(b.value);
      });
      from.value = ms(initial.from);
      to.value = ms(initial.to);
      fit();
      refilter();
    });
    const times = el("fieldset", {}, [el("legend", { text: "time window (ms)" }), el("label", {}, [document.createTextNode("from "), from]),
      el("label", {}, [document.createTextNode("to "), to]), reset]);
    form.appendChild(nodeBoxes);
    form.appendChild(kindBoxes);
    form.appendChild(times);
    return form;
  }

  // ---- Geometry -------------------------------------------------------------------------
  const LEFT = 86;
  const RIGHT = 14;
  const AXIS = 26;
  let width = 600;
  let laneH = 40;
  let height = 200;
  function plotW() { return width - LEFT - RIGHT; }
  function X(t) {
    const x = LEFT + (t - state.t0) / (state.t1 - state.t0) * plotW();
    return Math.max(-1e6, Math.min(1e6, x));
  }
  function T(x) { return state.t0 + (x - LEFT) / plotW() * (state.t1 - state.t0); }
  function Y(node) { return AXIS + laneH * (laneOf[node] + 0.5); }

  function layout() {
    width = Math.max(320, plot.clientWidth);
    laneH = Math.max(16, Math.min(56, Math.floor(420 / Math.max(lanes.length, 1))));
    height = AXIS + laneH * lanes.length + 8;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
  }

  // Where a copy's line runs: from its send to its arrival (or drop), a copy dropped as it was
  // sent as a short stub towards its receiver, one still in flight as far as a typical trip
  // would have taken it; and its wait in the receiver's mailbox, beside the lane.
  function geometry(c) {
    const ya = Y(c.from);
    const yb = Y(c.to);
    const x1 = X(c.sent);
    if (c.fate === "drop" && c.reason !== "NodeDown" && c.end === c.sent) {
      const dy = (yb - ya) * 0.3;
      return { x1: x1, y1: ya, x2: x1 + 10, y2: ya + (Math.abs(dy) > laneH * 0.9 ? Math.sign(dy) * laneH * 0.9 : dy), tEnd: c.sent, stub: true, wait: null };
    }
    let tEnd;
    let y2 = yb;
    if (c.fate === "flight") {
      tEnd = Math.max(runEnd, c.sent);
      y2 = ya + (yb - ya) * Math.min((tEnd - c.sent) / typicalTrip, 0.85);
    } else {
      tEnd = c.queued !== null ? c.queued : c.end;
    }
    let wait = null;
    if (c.queued !== null) {
      const until = c.end !== null ? c.end : runEnd;
      const off = ya < yb ? -4 : 4;
      wait = { x1: X(c.queued), x2: X(until), y: yb + off };
    }
    return { x1: x1, y1: ya, x2: X(tEnd), y2: y2, tEnd: tEnd, stub: false, wait: wait };
  }
  function styleOf(c) {
    if (c.fate === "corrupt") { return "corrupt"; }
    if (c.fate === "drop") { return "lost"; }
    if (c.fate === "flight") { return "flight"; }
    if (c.fate === "waiting") { return "waiting"; }
    return c.dup ? "dup" : "msg";
  }
  const STYLES = {
    msg: { color: "#1f4e79", width: 1.2, dash: [] },
    dup: { color: "#8e44ad", width: 1.2, dash: [6, 3] },
    corrupt: { color: "#e67e22", width: 1.8, dash: [] },
    lost: { color: "#c0392b", width: 1.2, dash: [2, 2] },
    flight: { color: "#888888", width: 1.2, dash: [1, 3] },
    waiting: { color: "#1f4e79", width: 1.2, dash: [5, 3] },
  };

  // ---- Drawing ------------------------------------------------------------------------
  const ctx = canvas.getContext("2d");
  const hatch = (function () {
    const c = document.createElement("canvas");
    c.width = 6; c.height = 6;
    const h = c.getContext("2d");
    h.fillStyle = "#e6e6e6"; h.fillRect(0, 0, 6, 6);
    h.strokeStyle = "#999"; h.lineWidth = 1.5;
    h.beginPath(); h.moveTo(0, 6); h.lineTo(6, 0); h.moveTo(-1, 1); h.lineTo(1, -1); h.moveTo(5, 7); h.lineTo(7, 5); h.stroke();
    return ctx.createPattern(c, "repeat");
  })();
  let drawnCopies = [];
  let drawnMarks = [];
  let lastRenderMs = 0;

  function visibleCopies() {
    const t0 = state.t0;
    const t1 = state.t1;
    const out = [];
    // First copy sent at or after t0 - longTrip.
    let lo = 0;
    let hi = bySent.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (bySent[mid].sent < t0 - longTrip) { lo = mid + 1; } else { hi = mid; } }
    for (let k = lo; k < bySent.length && bySent[k].sent <= t1; k++) {
      const c = bySent[k];
      if (copyShown[c.i] && lastTime(c) >= t0) { out.push(c); }
    }
    longCopies.forEach(function (c) { if (copyShown[c.i] && c.sent <= t1 && lastTime(c) >= t0) { out.push(c); } });
    return out;
  }
  function firstStepAtOrAfter(t) {
    let lo = 0;
    let hi = steps.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (steps[mid].t < t) { lo = mid + 1; } else { hi = mid; } }
    return lo;
  }

  function draw() {
    const began = performance.now();
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    ctx.font = "11px DejaVu Sans, Helvetica, Arial, sans-serif";
    const bottom = AXIS + laneH * lanes.length;

    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT, 0, plotW(), height);
    ctx.clip();
    drawPartitions(bottom);
    drawAxis(bottom);
    // Lanes.
    ctx.strokeStyle = "#444";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    lanes.forEach(function (n) { ctx.moveTo(LEFT, Y(n)); ctx.lineTo(width - RIGHT, Y(n)); });
    ctx.stroke();
    drawNodePeriods();
    drawCopies();
    drawMarks();
    drawCursor(bottom);
    ctx.restore();

    // Node names.
    ctx.fillStyle = "#222";
    ctx.font = "bold 11px DejaVu Sans, Helvetica, Arial, sans-serif";
    ctx.textBaseline = "middle";
    lanes.forEach(function (n) {
      let name = names[n];
      while (name.length > 1 && ctx.measureText(name).width > LEFT - 10) { name = name.slice(0, -1); }
      ctx.fillText(name === names[n] ? name : name + "\u2026", 4, Y(n));
    });
    ctx.textBaseline = "alphabetic";
    lastRenderMs = performance.now() - began;
    updateReadout();
  }

  function drawPartitions(bottom) {
    periods.forEach(function (p) {
      if (p.action !== "partition") { return; }
      const end = p.end !== null ? p.end : runEnd;
      if (end < state.t0 || p.start > state.t1) { return; }
      const x1 = X(p.start);
      const x2 = X(end);
      ctx.fillStyle = "rgba(244, 162, 97, 0.18)";
      ctx.fillRect(x1, AXIS, Math.max(x2 - x1, 1), bottom - AXIS);
      ctx.fillStyle = "#b5651d";
      ctx.font = "italic 10px DejaVu Sans, Helvetica, Arial, sans-serif";
      ctx.fillText("partition #" + p.index, Math.max(x1, LEFT) + 3, bottom - 3);
    });
  }

  function drawAxis(bottom) {
    const span = state.t1 - state.t0;
    const raw10 = span / plotW() * 90;
    let stepNs = 1;
    while (stepNs * 5 < raw10) { stepNs *= 10; }
    stepNs = stepNs >= raw10 ? stepNs : stepNs * 2 >= raw10 ? stepNs * 2 : stepNs * 5;
    ctx.strokeStyle = "#eee";
    ctx.lineWidth = 1;
    ctx.fillStyle = "#666";
    ctx.font = "10px DejaVu Sans, Helvetica, Arial, sans-serif";
    ctx.beginPath();
    for (let t = Math.ceil(state.t0 / stepNs) * stepNs; t <= state.t1; t += stepNs) {
      const x = Math.round(X(t)) + 0.5;
      ctx.moveTo(x, AXIS - 4);
      ctx.lineTo(x, bottom);
      ctx.fillText(ms(t) + " ms", x + 2, AXIS - 8);
    }
    ctx.stroke();
  }

  function drawNodePeriods() {
    periods.forEach(function (p) {
      if (p.action === "partition" || laneOf[p.node] < 0) { return; }
      const end = p.end !== null ? p.end : runEnd;
      if (end < state.t0 || p.start > state.t1) { return; }
      const x1 = X(p.start);
      const x2 = X(end);
      const y = Y(p.node);
      const paused = p.action === "pause";
      ctx.fillStyle = paused ? "#fff3b0" : hatch;
      ctx.fillRect(x1, y - 6, Math.max(x2 - x1, 1), 12);
      ctx.strokeStyle = paused ? "#c9a100" : "#777";
      ctx.lineWidth = 1;
      ctx.setLineDash(paused ? [3, 2] : []);
      ctx.strokeRect(x1, y - 6, Math.max(x2 - x1, 1), 12);
      ctx.setLineDash([]);
      ctx.font = "bold 10px DejaVu Sans, Helvetica, Arial, sans-serif";
      ctx.fillStyle = "#c0392b";
      ctx.fillText(paused ? "pause" : "crash", x1 + 2, y - 8);
      if (p.end !== null) {
        ctx.fillStyle = "#2e7d32";
        ctx.fillText(paused ? "resume" : "restart", x2 + 2, y - 8);
      }
    });
  }

  function head(path, x1, y1, x2, y2) {
    const a = Math.atan2(y2 - y1, x2 - x1);
    path.moveTo(x2, y2);
    path.lineTo(x2 - 7 * Math.cos(a - 0.4), y2 - 7 * Math.sin(a - 0.4));
    path.lineTo(x2 - 7 * Math.cos(a + 0.4), y2 - 7 * Math.sin(a + 0.4));
    path.closePath();
  }
  function cross(path, x, y) {
    path.moveTo(x - 4, y - 4); path.lineTo(x + 4, y + 4);
    path.moveTo(x - 4, y + 4); path.lineTo(x + 4, y - 4);
  }

  function drawCopies() {
    const visible = visibleCopies();
    const dense = visible.length > 2000;
    const lines = {};
    const heads = {};
    Object.keys(STYLES).forEach(function (k) { lines[k] = new Path2D(); heads[k] = new Path2D(); });
    const crosses = new Path2D();
    const waits = new Path2D();
    const highlight = new Path2D();
    const inPast = new Path2D();
    drawnCopies = [];
    const focusG = focalEvent() ? focalEvent().g : null;
    visible.forEach(function (c) {
      const geo = geometry(c);
      const s = styleOf(c);
      lines[s].moveTo(geo.x1, geo.y1);
      lines[s].lineTo(geo.x2, geo.y2);
      const ends = geo.tEnd <= state.t1 && c.fate !== "flight";
      if (ends && !dense && s !== "lost" && !geo.stub) { head(heads[s], geo.x1, geo.y1, geo.x2, geo.y2); }
      if (geo.wait) { waits.moveTo(geo.wait.x1, geo.wait.y); waits.lineTo(geo.wait.x2, geo.wait.y); }
      if (c.fate === "drop" && c.end <= state.t1) {
        if (geo.wait) { cross(crosses, geo.wait.x2, geo.wait.y); } else { cross(crosses, geo.x2, geo.y2); }
      }
      if (state.selected && state.selected.type === "copy" && state.selected.copy === c) {
        highlight.moveTo(geo.x1, geo.y1); highlight.lineTo(geo.x2, geo.y2);
      } else if (state.past && c.endG !== null && (state.past.has(c.endG) || c.endG === focusG) && (c.fate === "recv" || c.fate === "corrupt")) {
        inPast.moveTo(geo.x1, geo.y1); inPast.lineTo(geo.x2, geo.y2);
      }
      drawnCopies.push({ c: c, geo: geo });
    });
    ctx.lineCap = "round";
    ctx.strokeStyle = "rgba(243, 156, 18, 0.45)";
    ctx.lineWidth = 6;
    ctx.stroke(inPast);
    ctx.strokeStyle = "rgba(91, 155, 213, 0.6)";
    ctx.lineWidth = 3;
    ctx.stroke(waits);
    ctx.lineCap = "butt";
    ctx.globalAlpha = dense ? 0.45 : 1;
    Object.keys(STYLES).forEach(function (k) {
      const st = STYLES[k];
      ctx.strokeStyle = st.color;
      ctx.lineWidth = st.width;
      // Dashes cost much more to stroke than lines; a dense view cannot show them anyway.
      ctx.setLineDash(dense ? [] : st.dash);
      ctx.stroke(lines[k]);
      ctx.setLineDash([]);
      ctx.fillStyle = st.color;
      ctx.fill(heads[k]);
    });
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#c0392b";
    ctx.lineWidth = dense ? 1.4 : 2;
    ctx.stroke(crosses);
    ctx.strokeStyle = "#f1c40f";
    ctx.lineWidth = 4;
    ctx.stroke(highlight);
    // Labels when there are few copies in view.
    if (visible.length <= 60) {
      ctx.fillStyle = "#333";
      ctx.font = "9.5px DejaVu Sans, Helvetica, Arial, sans-serif";
      drawnCopies.forEach(function (d) {
        const g = d.geo;
        if (Math.hypot(g.x2 - g.x1, g.y2 - g.y1) < 30) { return; }
        ctx.fillText("m" + d.c.msg, (g.x1 + g.x2) / 2 + 3, (g.y1 + g.y2) / 2 - 2);
      });
    }
  }

  const MARKS = {
    deliver: function (x, y) { disc(x, y, 3.5, "#2e8b57", "#fff"); },
    damaged: function (x, y) { disc(x, y, 3.5, "#c0392b", "#000"); },
    cmd: function (x, y) { ctx.fillStyle = "#222"; ctx.fillRect(x - 2.5, y - 2.5, 5, 5); },
    refuse: function (x, y) { ctx.fillStyle = "#fff"; ctx.fillRect(x - 3.5, y - 3.5, 7, 7); ctx.strokeStyle = "#c0392b"; ctx.lineWidth = 1.2; ctx.strokeRect(x - 3.5, y - 3.5, 7, 7); },
    timer: function (x, y) { disc(x, y, 3.5, "#fff", "#555"); },
    dead: function (x, y) { poly(x, y, [[0, -4.5], [4.5, 0], [0, 4.5], [-4.5, 0]], "#000", null); },
    rejected: function (x, y) { xmark(x, y, 3, "#d62828", 1.6); },
    "breaker-closed": function (x, y) { poly(x, y, [[-5, -5], [5, 0], [-5, 5]], "#2e8b57", "#000"); },
    "breaker-open": function (x, y) { poly(x, y, [[-5, -5], [5, 0], [-5, 5]], "#d62828", "#000"); },
    "breaker-half-open": function (x, y) { poly(x, y, [[-5, -5], [5, 0], [-5, 5]], "#f4c430", "#000"); },
    suspect: function (x, y) { poly(x, y, [[0, -5], [5, 0], [0, 5], [-5, 0]], "#fff", "#d62828"); },
    trust: function (x, y) { poly(x, y, [[0, -5], [5, 0], [0, 5], [-5, 0]], "#d62828", "#d62828"); },
    adv: function (x, y) { poly(x, y, [[0, -4], [4, 3], [-4, 3]], null, "#d62828"); },
    block: function (x, y) { ctx.fillStyle = "#555"; ctx.fillRect(x - 1.5, y - 6, 3, 12); },
    unblock: function (x, y) { ctx.fillStyle = "#fff"; ctx.fillRect(x - 1.5, y - 6, 3, 12); ctx.strokeStyle = "#555"; ctx.lineWidth = 1; ctx.strokeRect(x - 1.5, y - 6, 3, 12); },
    deadlock: function (x, y) { xmark(x, y, 5, "#d62828", 2.2); },
    view: function (x, y) { ctx.fillStyle = "#fff"; ctx.fillRect(x - 4, y - 4, 8, 8); ctx.strokeStyle = "#1f4e9c"; ctx.lineWidth = 1.4; ctx.strokeRect(x - 4, y - 4, 8, 8); },
  };
  function disc(x, y, r, fill, stroke) {
    ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = fill; ctx.fill();
    ctx.strokeStyle = stroke; ctx.lineWidth = 0.9; ctx.stroke();
  }
  function poly(x, y, pts, fill, stroke) {
    ctx.beginPath();
    pts.forEach(function (p, k) { if (k === 0) { ctx.moveTo(x + p[0], y + p[1]); } else { ctx.lineTo(x + p[0], y + p[1]); } });
    ctx.closePath();
    if (fill) { ctx.fillStyle = fill; ctx.fill(); }
    if (stroke) { ctx.strokeStyle = stroke; ctx.lineWidth = 1.2; ctx.stroke(); }
  }
  function xmark(x, y, r, color, w) {
    ctx.beginPath(); cross(ctx, x, y); ctx.strokeStyle = color; ctx.lineWidth = w * r / 4; ctx.stroke();
  }

  function drawMarks() {
    drawnMarks = [];
    const first = firstStepAtOrAfter(state.t0);
    let count = 0;
    for (let k = first; k < steps.length && steps[k].t <= state.t1; k++) {
      const e = steps[k];
      if (e.markNode >= 0 && laneOf[e.markNode] >= 0) { count++; }
    }
    // Many marks: each a small bar, in two batches (deliveries and the rest), one fill each.
    const dense = count > 5000;
    const delivered = new Path2D();
    const others = new Path2D();
    for (let k = first; k < steps.length && steps[k].t <= state.t1; k++) {
      const e = steps[k];
      if (e.markNode < 0 || laneOf[e.markNode] < 0) { continue; }
      const x = X(e.t);
      const y = Y(e.markNode);
      if (dense) {
        (e.mark === "deliver" ? delivered : others).rect(x - 1, y - 2, 2, 4);
      } else {
        MARKS[e.mark](x, y);
      }
      drawnMarks.push({ e: e, x: x, y: y });
    }
    if (dense) {
      ctx.fillStyle = "#2e8b57";
      ctx.fill(delivered);
      ctx.fillStyle = "#444";
      ctx.fill(others);
    }
    // The causal past and the selection, over the marks.
    if (state.past) {
      ctx.strokeStyle = "#f39c12";
      ctx.lineWidth = 2;
      drawnMarks.forEach(function (d) {
        if (state.past.has(d.e.g)) { ctx.beginPath(); ctx.arc(d.x, d.y, 6.5, 0, 2 * Math.PI); ctx.stroke(); }
      });
    }
    const sel = state.selected && state.selected.type === "event" ? state.selected.event : null;
    if (sel) {
      const node = sel.markNode >= 0 ? sel.markNode : sel.a;
      if (node >= 0 && laneOf[node] >= 0) {
        ctx.strokeStyle = "#f1c40f";
        ctx.lineWidth = 3;
        ctx.beginPath(); ctx.arc(X(sel.t), Y(node), 8, 0, 2 * Math.PI); ctx.stroke();
      }
    }
  }

  function drawCursor(bottom) {
    if (!state.cursor) { return; }
    const t = state.cursor.t;
    const x = X(t);
    ctx.strokeStyle = "#d62828";
    ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(x, AXIS - 4); ctx.lineTo(x, bottom); ctx.stroke();
    // The messages in flight, where they are at the cursor's time.
    ctx.font = "bold 10px DejaVu Sans, Helvetica, Arial, sans-serif";
    const flying = inFlight();
    // Labels only when they can be read; the panel below lists them all.
    const labelled = flying.length <= 12;
    flying.forEach(function (c) {
      if (laneOf[c.from] < 0 || laneOf[c.to] < 0) { return; }
      const geo = geometry(c);
      const span = geo.tEnd - c.sent;
      const k = span > 0 ? Math.min(Math.max((t - c.sent) / span, 0), 1) : 0;
      const px = geo.x1 + (geo.x2 - geo.x1) * k;
      const py = geo.y1 + (geo.y2 - geo.y1) * k;
      disc(px, py, 4.5, STYLES[styleOf(c)].color, "#fff");
      if (labelled) {
        ctx.fillStyle = "#111";
        ctx.fillText("m" + c.msg, px + 6, py - 5);
      }
    });
  }

  // ---- The cursor -------------------------------------------------------------------------
  // A copy is in flight at the cursor's event if it was sent (or, a duplicate's second copy,
  // made) at or before that event and had not yet reached its receiver (or been dropped) by it.
  function inFlight() {
    if (!state.cursor) { return []; }
    const g = state.cursor.g;
    return copies.filter(function (c) {
      return copyShown[c.i] && c.startG <= g && (c.arriveG === null || c.arriveG > g);
    });
  }
  function cursorIndex() {
    if (!state.cursor) { return -1; }
    let lo = 0;
    let hi = steps.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (steps[mid].g < state.cursor.g) { lo = mid + 1; } else { hi = mid; } }
    return lo;
  }
  function seek(k) {
    if (steps.length === 0) { return; }
    state.cursor = steps[Math.max(0, Math.min(steps.length - 1, k))];
    keepInView(state.cursor.t);
    render();
  }
  function step(n) {
    if (steps.length === 0) { return; }
    if (!state.cursor) { seek(n > 0 ? firstStepAtOrAfter(state.t0) : steps.length - 1); return; }
    const k = cursorIndex();
    // A cursor on an event the filters now hide sits between its neighbours.
    const onIt = k < steps.length && steps[k].g === state.cursor.g;
    seek(n > 0 ? k + (onIt ? n : n - 1) : k + n);
  }
  function keepInView(t) {
    const span = state.t1 - state.t0;
    if (t < state.t0 || t > state.t1) {
      state.t0 = Math.max(full.from, Math.min(t - span / 2, full.to - span));
      state.t1 = state.t0 + span;
    }
  }
  function togglePlay() {
    if (state.playing) {
      clearInterval(state.playing);
      state.playing = null;
    } else {
      state.playing = setInterval(function () {
        if (state.cursor && cursorIndex() >= steps.length - 1) { togglePlay(); return; }
        step(1);
      }, 180);
    }
    playButton.textContent = state.playing ? "pause" : "play";
  }
  function goTo(e) {
    if (showsEvent(e)) { state.cursor = e; }
    const span = Math.min(state.t1 - state.t0, Math.max((full.to - full.from) / 10, 1000));
    state.t0 = Math.max(full.from, e.t - span / 2);
    state.t1 = state.t0 + span;
    select({ type: "event", event: e });
  }

  // ---- Zoom and pan -------------------------------------------------------------------
  function zoom(factor, at) {
    const span = state.t1 - state.t0;
    const pivot = state.t0 + span * at;
    const next = Math.max(1000, Math.min(full.to - full.from, span * factor));
    state.t0 = Math.max(full.from, Math.min(pivot - next * at, full.to - next));
    state.t1 = state.t0 + next;
    render();
  }
  function fit() {
    state.t0 = full.from;
    state.t1 = full.to;
    render();
  }
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    const rect = canvas.getBoundingClientRect();
    const at = Math.max(0, Math.min(1, (ev.clientX - rect.left - LEFT) / plotW()));
    zoom(ev.deltaY > 0 ? 1.25 : 0.8, at);
  }, { passive: false });
  let drag = null;
  canvas.addEventListener("mousedown", function (ev) {
    drag = { x: ev.clientX, t0: state.t0, moved: false };
  });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) { return; }
    const dx = ev.clientX - drag.x;
    if (Math.abs(dx) > 3) { drag.moved = true; canvas.classList.add("panning"); }
    if (!drag.moved) { return; }
    const span = state.t1 - state.t0;
    state.t0 = Math.max(full.from, Math.min(drag.t0 - dx / plotW() * span, full.to - span));
    state.t1 = state.t0 + span;
    scheduleRender();
  });
  window.addEventListener("mouseup", function (ev) {
    if (!drag) { return; }
    const moved = drag.moved;
    drag = null;
    canvas.classList.remove("panning");
    if (!moved && ev.target === canvas) { click(ev); }
  });

  // ---- Hover, click, details ------------------------------------------------------------
  function local(ev) {
    const rect = canvas.getBoundingClientRect();
    return { x: ev.clientX - rect.left, y: ev.clientY - rect.top };
  }
  function segmentDistance(px, py, g) {
    const dx = g.x2 - g.x1;
    const dy = g.y2 - g.y1;
    const len2 = dx * dx + dy * dy;
    const k = len2 > 0 ? Math.max(0, Math.min(1, ((px - g.x1) * dx + (py - g.y1) * dy) / len2)) : 0;
    return Math.hypot(px - (g.x1 + k * dx), py - (g.y1 + k * dy));
  }
  function hit(p) {
    let best = null;
    let bestD = 7;
    drawnMarks.forEach(function (d) {
      const dist = Math.hypot(p.x - d.x, p.y - d.y);
      if (dist < bestD) { bestD = dist; best = { type: "event", event: d.e }; }
    });
    if (best) { return best; }
    bestD = 5;
    drawnCopies.forEach(function (d) {
      const dist = segmentDistance(p.x, p.y, d.geo);
      if (dist < bestD) { bestD = dist; best = { type: "copy", copy: d.c }; }
    });
    return best;
  }
  canvas.addEventListener("mousemove", function (ev) {
    if (drag && drag.moved) { tip.style.display = "none"; return; }
    const p = local(ev);
    const h = p.x >= LEFT ? hit(p) : null;
    if (!h) { tip.style.display = "none"; return; }
    tip.textContent = h.type === "event" ? h.event.line : copyLines(h.copy).join("\n");
    tip.style.display = "block";
    tip.style.left = Math.min(p.x + 12, width - 40) + "px";
    tip.style.top = (p.y + 14) + "px";
  });
  canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  function click(ev) {
    const p = local(ev);
    if (p.y < AXIS && p.x >= LEFT) {
      // On the time axis: the cursor goes to the last event at or before that time.
      seek(firstStepAtOrAfter(T(p.x) + 1) - 1);
      return;
    }
    select(hit(p));
  }
  function copyLines(c) {
    return [c.sendG, c.arriveG !== c.endG ? c.arriveG : null, c.endG].filter(function (g) { return g !== null && byG.has(g); })
      .map(function (g) { return byG.get(g).line; });
  }
  function fateText(c) {
    switch (c.fate) {
      case "recv": return "delivered to " + names[c.to] + "'s process at " + ms(c.end) + " ms";
      case "corrupt": return "received CORRUPTED at " + ms(c.end) + " ms (its checksum fails)";
      case "drop": return "dropped at " + ms(c.end) + " ms, " + (raw.reasons[c.reason] || c.reason);
      case "waiting": return "waiting in " + names[c.to] + "'s mailbox since " + ms(c.queued) + " ms, never taken";
      default: return "still in flight when the run ended";
    }
  }
  // The event whose causal past is shown: the selected event, or the selected copy's
  // receive (its send, if it never arrived).
  function focalEvent() {
    const s = state.selected;
    if (!s) { return null; }
    if (s.type === "event") { return s.event; }
    const g = s.copy.endG !== null && (s.copy.fate === "recv" || s.copy.fate === "corrupt") ? s.copy.endG : s.copy.sendG;
    return byG.get(g) || null;
  }
  function causalPast(e) {
    if (!e || !e.vc) { return null; }
    const v = e.vc;
    const past = new Set();
    events.forEach(function (o) {
      if (!o.vc || o === e) { return; }
      let le = true;
      for (let k = 0; k < v.length; k++) { if (o.vc[k] > v[k]) { le = false; break; } }
      if (le) { past.add(o.g); }
    });
    return past;
  }
  function select(s) {
    state.selected = s;
    state.past = causalPast(focalEvent());
    showDetails();
    render();
  }
  function showDetails() {
    detailsBody.textContent = "";
    const s = state.selected;
    if (!s) { detailsBody.appendChild(el("p", { class: "empty", text: "Click a message or an event." })); return; }
    const rows = [];
    if (s.type === "copy") {
      const c = s.copy;
      rows.push(["message", "m" + c.msg + " " + names[c.from] + " -> " + names[c.to] + (c.dup ? ", the second copy of a duplicated message" : "")]);
      rows.push(["sent", ms(c.sent) + " ms"]);
      if (c.queued !== null) { rows.push(["arrived", ms(c.queued) + " ms, into " + names[c.to] + "'s mailbox"]); }
      rows.push(["fate", fateText(c)]);
      const send = byG.get(c.sendG);
      const end = c.endG !== null ? byG.get(c.endG) : null;
      if (send && send.vc) { rows.push(["vector clock at send", "[" + send.vc.join(", ") + "]"]); }
      if (end && end.vc) { rows.push(["vector clock at receive", "[" + end.vc.join(", ") + "]"]); }
      rows.push(["trace", copyLines(c).join("\n")]);
    } else {
      const e = s.event;
      rows.push(["event", e.g + " (" + e.kind + ") at " + ms(e.t) + " ms"]);
      rows.push(["trace", e.line]);
      if (e.vc) { rows.push(["vector clock", "[" + e.vc.join(", ") + "]"]); }
    }
    const focal = focalEvent();
    if (state.past) {
      rows.push(["causal past", state.past.size + " events happened before " + (s.type === "copy" ? "its " + (focal.g === s.copy.sendG ? "send" : "receive") : "it") + " (ringed, and the messages that carried it)"]);
    } else if (!raw.clocks) {
      rows.push(["causal past", "not computed: vector clocks are kept for clusters up to 32 nodes"]);
    }
    const dl = el("dl");
    rows.forEach(function (r) {
      dl.appendChild(el("dt", { text: r[0] }));
      dl.appendChild(r[0] === "trace" ? el("dd", {}, [el("pre", { text: r[1] })]) : el("dd", { text: r[1] }));
    });
    detailsBody.appendChild(dl);
  }

  function updateReadout() {
    const c = state.cursor;
    readout.textContent = c ? "cursor " + ms(c.t) + " ms, event " + c.g + ": " + c.line : "cursor: none (press right arrow or space)";
    flightList.textContent = "";
    const flying = inFlight();
    flightTitle.textContent = "In flight at the cursor (" + flying.length + ")";
    flying.slice(0, 200).forEach(function (f) {
      flightList.appendChild(el("li", { text: "m" + f.msg + " " + names[f.from] + " -> " + names[f.to] + " sent " + ms(f.sent) + " ms" + (f.dup ? " (second copy)" : "") }));
    });
    if (flying.length > 200) { flightList.appendChild(el("li", { text: "... and " + (flying.length - 200) + " more" })); }
  }

  // ---- Keyboard, rendering ------------------------------------------------------------------
  document.addEventListener("keydown", function (ev) {
    if (ev.target instanceof HTMLInputElement || ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    const keys = { " ": togglePlay, ArrowRight: function () { step(1); }, ArrowLeft: function () { step(-1); },
      Home: function () { seek(0); }, End: function () { seek(steps.length - 1); } };
    if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); }
  });
  let pending = false;
  function scheduleRender() {
    if (pending) { return; }
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }
  function render() { draw(); }
  function refilter() {
    applyFilter();
    if (state.selected && state.selected.type === "copy" && !copyShown[state.selected.copy.i]) { select(null); }
    layout();
    draw();
  }
  window.addEventListener("resize", function () { layout(); draw(); });

  applyFilter();
  layout();
  draw();
  const loadMs = performance.now() - started;

  // ---- A read-only view for tests and for measuring -------------------------------------
  function copyView(c) { return { msg: c.msg, from: names[c.from], to: names[c.to], fate: c.fate, sent: c.sent }; }
  window.msgsimViewer = Object.freeze({
    loadMs: function () { return loadMs; },
    renderMs: function () { return lastRenderMs; },
    redraw: function () { draw(); return lastRenderMs; },
    counts: function () {
      return { events: events.length, copies: copies.length, steps: steps.length, lanes: lanes.length, drawnCopies: drawnCopies.length, drawnMarks: drawnMarks.length };
    },
    view: function () { return { t0: state.t0, t1: state.t1 }; },
    zoomTo: function (t0, t1) { state.t0 = Math.max(full.from, t0); state.t1 = Math.min(full.to, Math.max(t1, state.t0 + 1000)); draw(); },
    cursor: function () { return state.cursor ? { g: state.cursor.g, t: state.cursor.t, line: state.cursor.line } : null; },
    inFlight: function () { return inFlight().map(copyView); },
    // Where on the page a drawn copy's line runs through, for clicking it as a person would.
    copyPoint: function (msg) {
      const d = drawnCopies.find(function (x) { return x.c.msg === msg; });
      if (!d) { return null; }
      const rect = canvas.getBoundingClientRect();
      const g = d.geo;
      return { x: rect.left + (g.x1 + g.x2) / 2, y: rect.top + (g.y1 + g.y2) / 2 };
    },
    // Where on the page the time axis shows time t: clicking there puts the cursor on it.
    axisPoint: function (t) {
      const rect = canvas.getBoundingClientRect();
      return { x: rect.left + X(t), y: rect.top + AXIS / 2 };
    },
    drawnMessages: function () { return drawnCopies.map(function (d) { return d.c.msg; }); },
    selected: function () {
      const s = state.selected;
      return s ? (s.type === "copy" ? { type: "copy", copy: copyView(s.copy) } : { type: "event", g: s.event.g }) : null;
    },
    causalPast: function () { return state.past ? Array.from(state.past).sort(function (x, y) { return x - y; }) : null; },
    details: function () { return detailsBody.innerText; },
  });
})();
