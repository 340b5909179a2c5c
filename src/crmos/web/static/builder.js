// crmos playbook builder. It draws the model the server gives it (Drawflow, vendored), lets a
// person add, connect and edit nodes, and posts the model back: the server writes the YAML,
// validates it with the same validator as `crmos playbooks validate`, dry-runs and publishes.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const json = (id) => JSON.parse($(id).textContent);
  let editor, palette, text, kinds;
  const nodes = new Map(); // Drawflow id -> {kind, params}
  let edges = []; // [{source, target}] of Drawflow ids, in the order they were connected
  let extra = { header: {}, comment: "", trigger_extra: {} };
  let drawing = false; // while the script itself draws, Drawflow's events change nothing
  let selected = null;
  let fields = { events: {}, traits: {} };
  const LEAVES = ["event", "count", "absent", "sequence", "pattern"];

  function t(s, args) {
    let out = text[s] || s;
    for (const [k, v] of Object.entries(args || {})) out = out.replace(`{${k}}`, v);
    return out;
  }

  function esc(s) {
    const d = document.createElement("span");
    d.textContent = s == null ? "" : String(s);
    return d.innerHTML;
  }

  function csrf() { return document.body.dataset.csrf; }

  async function call(method, url, body) {
    const init = { method, headers: { "X-CSRF-Token": csrf() } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const answer = await fetch(url, init);
    const data = await answer.json().catch(() => ({ detail: answer.statusText }));
    return { ok: answer.ok, data };
  }

  // -- the model ------------------------------------------------------------------------------

  function summary(kind, p) {
    if (kind === "step") return `${p.id || "?"} · ${p.component || "?"}`;
    if (kind === "raw_step" || kind === "pattern") return JSON.stringify(p.raw);
    if (kind === "condition" || kind === "audience") return p.cel || "";
    if (kind === "count") return `≥ ${p.at_least ?? 1} × ${p.event || p.type || "*"} / ${p.within || ""}`;
    if (kind === "absent" || kind === "wait") return `∅ ${p.event || p.type || "*"} / ${p.within || ""}`;
    if (kind === "event") return p.event || p.type || "*";
    if (kind === "sequence") return `${(p.steps || []).map((s) => s.event || s.type).join(" → ")} / ${p.within || ""}`;
    if (kind === "experiment") return Object.entries(p.variants || {}).map(([k, v]) => `${k} ${v}%`).join(" · ");
    if (kind === "approval") return `${p.policy || "none"} ${p.impact || ""}`;
    return "";
  }

  function nodeHtml(kind, params) {
    return `<div class="nb"><span class="nb-kind">${esc(kinds[kind] || kind)}</span>` +
      `<span class="nb-title" dir="ltr">${esc(summary(kind, params))}</span>` +
      `<span class="nb-problem"></span>` +
      `<button type="button" class="nb-edit quiet">${esc(t("Edit"))}</button></div>`;
  }

  function addNode(kind, params, x, y) {
    const inputs = LEAVES.includes(kind) ? 0 : 1;
    const id = editor.addNode(kind, inputs, 1, x, y, `k-${kind}`, {}, nodeHtml(kind, params));
    nodes.set(String(id), { kind, params: structuredClone(params) });
    return String(id);
  }

  function refresh(id) {
    const node = nodes.get(id);
    const box = document.querySelector(`#node-${id} .nb-title`);
    if (node && box) box.textContent = summary(node.kind, node.params);
  }

  function model() {
    const header = { ...extra.header };
    for (const input of $("builder-header").querySelectorAll("input")) {
      if (input.value.trim()) header[input.name] = input.value.trim();
      else delete header[input.name];
    }
    const out = [];
    for (const [id, n] of nodes) {
      const d = editor.getNodeFromId(id);
      out.push({ id, kind: n.kind, params: n.params, x: Math.round(d.pos_x), y: Math.round(d.pos_y) });
    }
    return { header, comment: extra.comment, trigger_extra: extra.trigger_extra, nodes: out, edges };
  }

  function draw(m, status) {
    drawing = true;
    editor.clear();
    nodes.clear();
    edges = [];
    const ids = {};
    for (const n of m.nodes) ids[n.id] = addNode(n.kind, n.params, n.x, n.y);
    for (const e of m.edges) {
      if (ids[e.source] && ids[e.target]) {
        editor.addConnection(ids[e.source], ids[e.target], "output_1", "input_1");
        edges.push({ source: ids[e.source], target: ids[e.target] });
      }
    }
    for (const [old, id] of Object.entries(ids)) {
      const s = status && status[old];
      if (s) {
        const box = document.getElementById(`node-${id}`);
        box.classList.add(`diff-${s}`);
        box.querySelector(".nb-problem").textContent = t(s === "same" ? "unchanged" : s);
      }
    }
    drawing = false;
    return ids;
  }

  function load(m) {
    extra = { header: { ...m.header }, comment: m.comment || "", trigger_extra: m.trigger_extra || {} };
    for (const input of $("builder-header").querySelectorAll("input")) {
      input.value = m.header[input.name] == null ? input.value : m.header[input.name];
      delete extra.header[input.name];
    }
    draw(m);
  }

  // -- checking ---------------------------------------------------------------------------------

  let timer = null;
  function changed() {
    if (drawing) return;
    // What is shown no longer describes the drawing until the next answer.
    $("problems").setAttribute("aria-busy", "true");
    $("problems").textContent = "";
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  }

  let asked = 0;
  async function check() {
    // Answers can arrive out of order: only the answer to the latest drawing is shown.
    const mine = ++asked;
    const { data } = await call("POST", "/builder/api/check", model());
    if (mine === asked) show(data);
  }

  function show(result) {
    $("problems").setAttribute("aria-busy", "false");
    for (const box of document.querySelectorAll(".drawflow-node")) {
      box.classList.remove("bad");
      const p = box.querySelector(".nb-problem");
      if (p && !box.className.includes("diff-")) p.textContent = "";
    }
    const list = result.problems || [];
    $("yaml").textContent = result.source || "";
    if (!list.length && result.ok) {
      $("problems").innerHTML = `<p class="ok">${esc(t("No problems: the file is valid."))}</p>`;
      return;
    }
    const items = list.map((p) => {
      if (p.node) {
        const box = document.getElementById(`node-${p.node}`);
        if (box) {
          box.classList.add("bad");
          box.querySelector(".nb-problem").textContent = p.message;
        }
      }
      const where = p.node && nodes.has(p.node) ? `${kinds[nodes.get(p.node).kind]}: ` : "";
      return `<li><code dir="ltr">${esc(p.path)}</code> ${esc(where)}${esc(p.message)}</li>`;
    });
    $("problems").innerHTML = `<p class="error">${esc(t("Problems: {count}", { count: list.length }))}</p><ul>${items.join("")}</ul>`;
  }

  // -- the inspector: a form generated from the node's JSON Schema ------------------------------

  function resolve(schema, root) {
    if (schema && schema.$ref) return resolve(root.$defs[schema.$ref.split("/").pop()], root);
    if (schema && schema.anyOf) {
      const real = schema.anyOf.filter((s) => s.type !== "null");
      if (real.length === 1) return { ...resolve(real[0], root), title: schema.title, description: schema.description, default: schema.default };
    }
    return schema || {};
  }

  let fieldNo = 0;
  function input(name, raw, root, value, set) {
    const schema = resolve(raw, root);
    const id = `f-${++fieldNo}`;
    const wrap = document.createElement("div");
    wrap.className = "field";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = schema.title || raw.title || name;
    wrap.appendChild(label);
    let el;
    if (schema.enum) {
      el = document.createElement("select");
      for (const v of ["", ...schema.enum]) el.add(new Option(v === "" ? t("(none)") : v, v));
      el.value = value == null ? "" : value;
      el.onchange = () => set(el.value === "" ? undefined : el.value);
    } else if (schema.type === "boolean") {
      el = document.createElement("input");
      el.type = "checkbox";
      el.checked = value == null ? !!schema.default : !!value;
      el.onchange = () => set(el.checked);
    } else if (schema.type === "integer" || schema.type === "number") {
      // Text, not type=number: a param may also be a reference (${steps.claims.claims}).
      el = document.createElement("input");
      el.inputMode = "decimal";
      el.dir = "ltr";
      el.value = value == null ? "" : value;
      el.oninput = () => {
        const raw = el.value.trim();
        set(raw === "" ? undefined : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw);
      };
    } else if (schema.type === "string" && schema.format === "cel") {
      el = document.createElement("textarea");
      el.rows = 3;
      el.dir = "ltr";
      el.value = value || "";
      el.oninput = () => set(el.value);
      wrap.appendChild(el);
      wrap.appendChild(celBuilder(el, set));
      el.id = id;
      return wrap;
    } else if (schema.type === "string" || (!schema.type && typeof value === "string")) {
      el = document.createElement("input");
      el.dir = "ltr";
      if (schema.format === "event-name") el.setAttribute("list", "event-names");
      el.value = value == null ? "" : value;
      el.oninput = () => set(el.value === "" ? undefined : el.value);
    } else {
      el = document.createElement("textarea");
      el.rows = 3;
      el.dir = "ltr";
      label.textContent += ` (${t("JSON")})`;
      el.value = value === undefined ? "" : JSON.stringify(value);
      el.oninput = () => {
        try { set(el.value.trim() ? JSON.parse(el.value) : undefined); el.removeAttribute("aria-invalid"); }
        catch (_) { el.setAttribute("aria-invalid", "true"); }
      };
    }
    el.id = id;
    el.name = name;
    wrap.appendChild(el);
    if (schema.description) {
      const help = document.createElement("small");
      help.className = "muted";
      help.textContent = schema.description;
      wrap.appendChild(help);
    }
    return wrap;
  }

  function celBuilder(area, set) {
    const box = document.createElement("div");
    box.className = "cel-builder row";
    const f = document.createElement("input");
    f.setAttribute("list", "cel-fields");
    f.dir = "ltr";
    f.setAttribute("aria-label", t("Field"));
    const op = document.createElement("select");
    op.setAttribute("aria-label", "op");
    for (const o of ["==", "!=", ">", ">=", "<", "<="]) op.add(new Option(o, o));
    const v = document.createElement("input");
    v.setAttribute("aria-label", t("Value"));
    const add = document.createElement("button");
    add.type = "button";
    add.className = "quiet";
    add.textContent = t("Add to the condition");
    add.onclick = () => {
      if (!f.value) return;
      const raw = v.value.trim();
      const literal = /^-?\d+(\.\d+)?$/.test(raw) || raw === "true" || raw === "false" ? raw : JSON.stringify(raw);
      const part = `${f.value} ${op.value} ${literal}`;
      area.value = area.value.trim() ? `${area.value.trim()} && ${part}` : part;
      set(area.value);
    };
    box.append(f, op, v, add);
    return box;
  }

  function inspect(id) {
    selected = id;
    const node = nodes.get(id);
    const box = $("inspector");
    box.innerHTML = "";
    if (!node) {
      box.innerHTML = `<p class="muted">${esc(t("Select a node to edit its parameters."))}</p>`;
      return;
    }
    const h = document.createElement("h3");
    h.textContent = kinds[node.kind] || node.kind;
    box.appendChild(h);
    const set = (key) => (value) => {
      if (value === undefined) delete node.params[key]; else node.params[key] = value;
      refresh(id);
      changed();
    };
    if (node.kind === "step") stepForm(box, node, set);
    else {
      const schema = schemaOf(node.kind);
      for (const [key, prop] of Object.entries(schema.properties || {})) {
        box.appendChild(input(key, prop, schema, node.params[key], set(key)));
      }
    }
    box.appendChild(connectForm(id));
  }

  function schemaOf(kind) {
    const item = palette.nodes.find((i) => i.kind === kind);
    return item ? item.schema : { properties: {} };
  }

  function stepForm(box, node, set) {
    const c = palette.components.find((x) => x.component === node.params.component);
    box.appendChild(input("id", { type: "string", title: t("Step id") }, {}, node.params.id, set("id")));
    if (c) {
      const facts = document.createElement("p");
      facts.className = "muted";
      facts.innerHTML = `<bdi dir="ltr">${esc(c.component)}</bdi>: ${esc(c.description)}<br>` +
        `${esc(t("Reads"))}: ${esc(c.reads.join(", ") || t("(none)"))} · ${esc(t("May call"))}: ` +
        `${esc(c.hosts.join(", ") || t("(none)"))} · ${esc(t("Impact"))}: ${esc(c.impact)}`;
      box.appendChild(facts);
      const params = node.params.with || {};
      const setParam = (key) => (value) => {
        const w = { ...(node.params.with || {}) };
        if (value === undefined) delete w[key]; else w[key] = value;
        set("with")(Object.keys(w).length ? w : undefined);
      };
      for (const [key, prop] of Object.entries(c.schema.properties || {})) {
        box.appendChild(input(key, prop, c.schema, params[key], setParam(key)));
      }
    }
    const comp = typeof node.params.compensate === "boolean" ? node.params.compensate : undefined;
    box.appendChild(input("compensate", { type: "boolean", title: t("Compensate on a later failure"), default: true }, {}, comp, set("compensate")));
  }

  function connectForm(id) {
    const form = document.createElement("div");
    form.className = "stack";
    const row = document.createElement("div");
    row.className = "row";
    const sel = document.createElement("select");
    sel.id = `connect-${id}`;
    const label = document.createElement("label");
    label.htmlFor = sel.id;
    label.textContent = t("Connect to");
    for (const [other, n] of nodes) {
      if (other === id || LEAVES.includes(n.kind)) continue;
      sel.add(new Option(`${kinds[n.kind]} · ${summary(n.kind, n.params)}`, other));
    }
    const go = document.createElement("button");
    go.type = "button";
    go.textContent = t("Connect");
    go.onclick = () => { if (sel.value) editor.addConnection(id, sel.value, "output_1", "input_1"); };
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "danger";
    remove.textContent = t("Remove node");
    remove.onclick = () => editor.removeNodeId(`node-${id}`);
    row.append(label, sel, go, remove);
    form.appendChild(row);
    return form;
  }

  // -- completions from the fields the workspace has seen ---------------------------------------

  async function loadFields() {
    const { ok, data } = await call("GET", "/builder/api/fields");
    if (!ok) return;
    fields = data;
    const names = new Set(["event.name", "event.type", "event.touchpoint", "event.user_id", "flags.marketing_suppressed", "profile.id"]);
    for (const shape of Object.values(data.events)) {
      for (const f of Object.keys(shape.fields)) names.add(`event.${f}`);
    }
    for (const f of Object.keys(data.traits)) { names.add(`traits.${f}`); names.add(`profile.traits.${f}`); }
    $("cel-fields").innerHTML = [...names].sort().map((n) => `<option value="${esc(n)}"></option>`).join("");
    $("event-names").innerHTML = Object.keys(data.events).map((n) => `<option value="${esc(n)}"></option>`).join("");
  }

  // -- the palette --------------------------------------------------------------------------

  function paletteItem(button) {
    if (button.dataset.component) {
      const c = palette.components.find((x) => x.component === button.dataset.component);
      let stepId = c.params.id;
      const taken = new Set([...nodes.values()].map((n) => n.params.id));
      for (let i = 2; taken.has(stepId); i++) stepId = `${c.params.id}_${i}`;
      return { kind: "step", params: { ...c.params, id: stepId } };
    }
    const item = palette.nodes[Number(button.dataset.index)];
    return { kind: item.kind, params: item.params };
  }

  function freeSpot() {
    const n = nodes.size;
    return [40 + (n % 4) * 240, 40 + Math.floor(n / 4) * 130];
  }

  function canvasPoint(ev) {
    const rect = editor.precanvas.getBoundingClientRect();
    const zoom = editor.zoom || 1;
    return [(ev.clientX - rect.x) / zoom, (ev.clientY - rect.y) / zoom];
  }

  function setUpPalette() {
    for (const button of document.querySelectorAll(".palette-item")) {
      button.addEventListener("click", () => {
        const { kind, params } = paletteItem(button);
        const [x, y] = freeSpot();
        inspect(addNode(kind, params, x, y));
        changed();
      });
      button.addEventListener("dragstart", (ev) => {
        ev.dataTransfer.setData("text/plain", button.dataset.component || `#${button.dataset.index}`);
        ev.dataTransfer.effectAllowed = "copy";
        dragged = button;
      });
    }
    const canvas = $("canvas");
    canvas.addEventListener("dragover", (ev) => ev.preventDefault());
    canvas.addEventListener("drop", (ev) => {
      ev.preventDefault();
      if (!dragged) return;
      const { kind, params } = paletteItem(dragged);
      const [x, y] = canvasPoint(ev);
      inspect(addNode(kind, params, x, y));
      dragged = null;
      changed();
    });
  }
  let dragged = null;

  // -- dry-run, publish, diff, rollback -------------------------------------------------------

  function table(caption, rows) {
    const body = rows.map(([a, b]) => `<tr><td><bdi>${esc(a)}</bdi></td><td class="num">${esc(b)}</td></tr>`).join("");
    return `<table><caption>${esc(caption)}</caption><tbody>${body}</tbody></table>`;
  }

  async function dryRun() {
    const { ok, data } = await call("POST", "/builder/api/dry-run", { model: model(), since: $("dry-since").value });
    const out = $("dry-result");
    if (!ok) { out.innerHTML = `<p class="error">${esc(data.detail)}</p>`; return; }
    out.innerHTML = table(t("Dry-run"), [[t("Events replayed"), data.events_scanned], [t("Would fire"), data.fired]]) +
      table(t("Per variant"), Object.entries(data.variants)) +
      table(t("Who would fire"), Object.entries(data.profiles));
  }

  async function publish() {
    const comment = $("publish-comment").value;
    const { ok, data } = await call("POST", "/builder/api/publish", { model: model(), comment });
    if (!ok) {
      $("publish-result").innerHTML = `<p class="error">${esc(data.detail)}</p>` +
        (data.problems || []).map((p) => `<p class="error"><code dir="ltr">${esc(p.path)}</code> ${esc(p.message)}</p>`).join("");
      return;
    }
    location.assign(`/builder?playbook=${encodeURIComponent(data.playbook_id)}&published=${data.hash}`);
  }

  let editing = null;
  async function showDiff() {
    const q = new URLSearchParams({ older: $("diff-older").value, newer: $("diff-newer").value });
    const { ok, data } = await call("GET", `/builder/api/diff?${q}`);
    if (!ok) { $("diff-result").textContent = data.detail; return; }
    if (!editing) editing = model();
    editor.editor_mode = "view";
    const ids = draw(data.model, data.status);
    let y = 40 + Math.max(0, ...data.model.nodes.map((n) => n.y)) + 130;
    const removed = data.removed.map((n, i) => {
      const id = addNode(n.kind, n.params, 40 + i * 240, y);
      const box = document.getElementById(`node-${id}`);
      box.classList.add("diff-removed");
      box.querySelector(".nb-problem").textContent = t("removed");
      return `<li>${esc(t("removed"))}: ${esc(kinds[n.kind])} · ${esc(summary(n.kind, n.params))}</li>`;
    });
    const changedList = Object.entries(data.status).filter(([, s]) => s !== "same").map(([old, s]) => {
      const n = nodes.get(ids[old]);
      return `<li>${esc(t(s))}: ${esc(kinds[n.kind])} · ${esc(summary(n.kind, n.params))}</li>`;
    });
    $("diff-result").innerHTML = `<ul>${[...changedList, ...removed].join("")}</ul>`;
    $("end-diff").hidden = false;
  }

  function endDiff() {
    editor.editor_mode = "edit";
    if (editing) draw(editing);
    editing = null;
    $("diff-result").innerHTML = "";
    $("end-diff").hidden = true;
    changed();
  }

  async function rollback(button) {
    const { ok, data } = await call("POST", "/builder/api/rollback", { playbook_id: button.dataset.playbook });
    if (!ok) { $("publish-result").innerHTML = `<p class="error">${esc(data.detail || t("Nothing to roll back to."))}</p>`; return; }
    location.assign(`/builder?playbook=${encodeURIComponent(data.playbook_id)}&rolled=${data.hash}`);
  }

  // -- start ----------------------------------------------------------------------------------

  async function start() {
    palette = json("builder-palette");
    text = json("builder-text");
    kinds = json("builder-kinds");
    editor = new window.Drawflow($("canvas"));
    editor.reroute = false;
    editor.force_first_input = true; // a connection dropped anywhere on a node reaches it
    editor.start();
    editor.on("connectionCreated", (c) => {
      if (drawing) return;
      edges.push({ source: String(c.output_id), target: String(c.input_id) });
      changed();
    });
    editor.on("connectionRemoved", (c) => {
      if (drawing) return;
      edges = edges.filter((e) => !(e.source === String(c.output_id) && e.target === String(c.input_id)));
      changed();
    });
    editor.on("nodeRemoved", (id) => {
      if (drawing) return;
      id = String(id);
      nodes.delete(id);
      edges = edges.filter((e) => e.source !== id && e.target !== id);
      if (selected === id) inspect(null);
      changed();
    });
    editor.on("nodeSelected", (id) => inspect(String(id)));
    $("canvas").addEventListener("click", (ev) => {
      const edit = ev.target.closest(".nb-edit");
      if (edit) inspect(edit.closest(".drawflow-node").id.replace("node-", ""));
    });
    // Drawflow deletes the selected node on Delete anywhere in the page: not while typing.
    for (const id of ["inspector", "builder-header"]) {
      $(id).addEventListener("keydown", (ev) => ev.stopPropagation());
      $(id).addEventListener("input", changed);
    }
    setUpPalette();
    $("dry-run").addEventListener("click", dryRun);
    if ($("publish")) $("publish").addEventListener("click", publish);
    if ($("show-diff")) $("show-diff").addEventListener("click", showDiff);
    if ($("end-diff")) $("end-diff").addEventListener("click", endDiff);
    if ($("rollback")) $("rollback").addEventListener("click", (ev) => rollback(ev.target));
    loadFields();
    const source = json("builder-source");
    if (source) {
      const { ok, data } = await call("POST", "/builder/api/model", { source });
      if (ok) { load(data.model); show(data); }
    } else {
      check();
    }
    document.body.dataset.builderReady = "true";
  }

  document.addEventListener("DOMContentLoaded", () => { if ($("canvas")) start(); });
})();
