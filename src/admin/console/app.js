// ontap-sim console: one ES module, no dependencies. It reads the control API's views
// (/cluster, /volumes, /journal, /faults, /listeners, /metrics) and changes state only through
// the control API's own endpoints, so what it does is what `ontap-sim fault ...` and curl do.
// Pages poll once a second (the journal streams), so another client's change shows up within a
// second. Everything shown is built with DOM calls, never innerHTML, so no name can inject markup.

const TOKEN_KEY = "ontap-sim-console-token";
const SVG_NS = "http://www.w3.org/2000/svg";
const POLL_MS = 1000;

// ---------------------------------------------------------------------------------------------
// DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  return el;
}

function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + " " + units[i];
}

function count(n) {
  return Number(n).toLocaleString("en-US");
}

function badge(word, kind) {
  return h("span", { class: "badge " + kind, text: word });
}

function stateBadge(word) {
  const good = ["up", "running", "online", "normal", "passed"];
  const bad = ["down", "stopped", "offline", "failed", "blackhole", "refuse"];
  return badge(word, good.includes(word) ? "ok" : bad.includes(word) ? "bad" : "warn");
}

function usageBar(used, size, label, text) {
  const pct = size > 0 ? Math.min(100, (used * 100) / size) : 0;
  const fill = h("span");
  fill.style.width = pct.toFixed(1) + "%";
  const bar = h(
    "div",
    {
      class: "bar" + (pct >= 95 ? " hot" : pct >= 80 ? " warm" : ""),
      role: "meter",
      "aria-valuemin": "0",
      "aria-valuemax": "100",
      "aria-valuenow": pct.toFixed(0),
      "aria-label": label,
    },
    fill,
  );
  const words = pct.toFixed(0) + "%";
  return h("div", { class: "usage" }, bar, h("span", { class: "bar-label", text: text ? `${text} · ${words}` : words }));
}

function table(columns, rows, opts = {}) {
  const colgroup = h("colgroup", {}, columns.map((c) => {
    const col = h("col");
    if (c.width) col.style.width = c.width;
    return col;
  }));
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : "" }, c.head))));
  const body = h("tbody");
  fillBody(body, columns, rows, opts.empty || "none");
  return h("table", { class: opts.class || "" }, opts.caption ? h("caption", { text: opts.caption }) : null, colgroup, head, body);
}

// Rebuild `el` with `build()` only when `key` changed, and give the focus back to the element
// at the same place, so a poll never takes the keyboard's place away.
function keep(el, key, build) {
  if (el._key === key) return;
  el._key = key;
  const path = [];
  for (let n = document.activeElement; n && n !== el && el.contains(n); n = n.parentNode) {
    path.unshift(Array.prototype.indexOf.call(n.parentNode.children, n));
  }
  build();
  if (!path.length) return;
  let n = el;
  for (const i of path) n = n && n.children[i];
  if (n && typeof n.focus === "function") n.focus({ preventScroll: true });
}

function fillBody(body, columns, rows, empty) {
  keep(body, JSON.stringify([rows, empty, columns.map((c) => c.head)]), () => fillBodyNow(body, columns, rows, empty));
}

function fillBodyNow(body, columns, rows, empty) {
  if (!rows.length) {
    replace(body, h("tr", {}, h("td", { class: "empty", colspan: String(columns.length), text: empty })));
    return;
  }
  replace(
    body,
    rows.map((r) =>
      h("tr", r._attrs || {}, columns.map((c) => {
        const v = c.cell(r);
        const td = h("td", { class: c.num ? "num" : "" }, v);
        if (typeof v === "string" || typeof v === "number") td.title = String(v);
        return td;
      })),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// The control API, with the token

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let tokenPrompt = null;

function authHeaders() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  return t ? { Authorization: "Bearer " + t } : {};
}

// Ask for the token once, however many calls were refused together.
function askToken(refused) {
  if (tokenPrompt) return tokenPrompt;
  tokenPrompt = new Promise((resolve) => {
    const dialog = document.getElementById("token-dialog");
    const form = document.getElementById("token-form");
    const input = document.getElementById("token-input");
    document.getElementById("token-error").textContent = refused ? "That token was refused; try again." : "";
    input.value = "";
    const done = (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      form.removeEventListener("submit", done);
      dialog.close();
      tokenPrompt = null;
      resolve();
    };
    form.addEventListener("submit", done);
    // Escape would leave the page without data: keep the dialog until a token is given.
    dialog.addEventListener("cancel", (e) => e.preventDefault(), { once: true });
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  setConn(true);
  return tokenPrompt;
}

async function api(method, path, body) {
  for (;;) {
    const headers = authHeaders();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let r;
    try {
      r = await fetch(path, {
        method,
        headers,
        cache: "no-store",
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
    } catch (e) {
      setConn(false);
      throw new ApiError(0, "the control API is unreachable");
    }
    setConn(true);
    if (r.status === 401) {
      const had = sessionStorage.getItem(TOKEN_KEY);
      if (had) sessionStorage.removeItem(TOKEN_KEY);
      await askToken(Boolean(had));
      continue; // a refused call changed nothing: send it again with the token
    }
    const ct = r.headers.get("content-type") || "";
    const data = ct.includes("json") ? await r.json() : await r.text();
    if (!r.ok) throw new ApiError(r.status, (data && data.error) || String(data));
    return data;
  }
}

function setConn(up) {
  const el = document.getElementById("conn");
  el.textContent = !up ? "control API unreachable" : tokenPrompt ? "token needed" : "live";
  el.classList.toggle("down", !up || Boolean(tokenPrompt));
}

// Run `fn` now and every `ms` while the page is open. The function returned runs it again at
// once (after an action); a call in flight is never overlapped, only followed.
function poll(page, fn, ms = POLL_MS) {
  let stopped = false;
  let timer = null;
  let running = false;
  let again = false;
  const tick = async () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(timer);
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof ApiError)) console.error(e);
    }
    running = false;
    if (stopped) return;
    if (again) {
      again = false;
      tick();
    } else timer = setTimeout(tick, ms);
  };
  tick();
  page.cleanups.push(() => {
    stopped = true;
    clearTimeout(timer);
  });
  return tick;
}

// A message in a reserved line (no layout jump when it appears).
function statusLine() {
  const el = h("p", { class: "status-line", role: "status", "aria-live": "polite" });
  el.show = (msg, bad) => {
    el.textContent = msg || "";
    el.classList.toggle("form-error", Boolean(bad));
  };
  return el;
}

// Perform a control action, report it, and refresh the page's data.
async function act(status, what, fn, refresh) {
  try {
    await fn();
    status.show(what);
  } catch (e) {
    status.show(what.replace(/\.$/, "") + " failed: " + e.message, true);
  }
  if (refresh) refresh();
}

// ---------------------------------------------------------------------------------------------
// Shared cluster view (the header's name, the presets' targets, the volume page's SVM list)

let clusterCache = null;
async function loadCluster() {
  clusterCache = await api("GET", "/cluster");
  document.getElementById("cluster-name").textContent = `${clusterCache.name} · ONTAP ${clusterCache.version}`;
  return clusterCache;
}

// ---------------------------------------------------------------------------------------------
// Cluster page

function clusterPage(page) {
  const main = page.main;
  const facts = h("dl", { class: "facts" });
  const loading = () => h("div", {}, h("p", { class: "empty" }, "loading…"));
  const [nodes, aggrs, svms, lifs, users] = [loading(), loading(), loading(), loading(), loading()];
  append(
    main,
    h("h1", {}, "Cluster"),
    facts,
    h("div", { class: "grid" },
      h("section", { class: "panel wide", "aria-labelledby": "h-aggr" }, h("h2", { id: "h-aggr" }, "Aggregates"), aggrs),
      h("section", { class: "panel", "aria-labelledby": "h-svm" }, h("h2", { id: "h-svm" }, "SVMs"), svms),
      h("section", { class: "panel", "aria-labelledby": "h-lif" }, h("h2", { id: "h-lif" }, "LIFs"), lifs),
      h("section", { class: "panel", "aria-labelledby": "h-node" }, h("h2", { id: "h-node" }, "Nodes"), nodes),
      h("section", { class: "panel", "aria-labelledby": "h-user" }, h("h2", { id: "h-user" }, "Users"), users),
    ),
  );
  const tables = {};
  const show = (holder, key, columns, rows, empty) => {
    if (!tables[key]) {
      tables[key] = table(columns, rows, { empty });
      replace(holder, tables[key]);
    } else fillBody(tables[key].tBodies[0], columns, rows, empty);
  };
  poll(page, async () => {
    const [c, l] = await Promise.all([loadCluster(), api("GET", "/listeners")]);
    const fact = (k, v) => h("div", {}, h("dt", {}, k), h("dd", {}, v));
    keep(facts, JSON.stringify([c.name, c.version, c.volumes, c.snapshots, l]), () => replace(
      facts,
      fact("Name", c.name),
      fact("ONTAP", c.version),
      fact("ONTAPI", c.ontapi),
      fact("Volumes", count(c.volumes)),
      fact("Snapshots", count(c.snapshots)),
      fact("Management listener", stateBadge(l.management)),
      fact("NFS listener", stateBadge(l.nfs)),
    ));
    show(aggrs, "aggr", [
      { head: "Name", width: "14%", cell: (a) => a.name },
      { head: "Node", width: "13%", cell: (a) => a.node },
      { head: "Media", width: "7%", cell: (a) => a.media },
      { head: "Used", width: "30%", cell: (a) => usageBar(a.used, a.size, `aggregate ${a.name} used`) },
      { head: "Used / size", width: "18%", num: true, cell: (a) => `${bytes(a.used)} / ${bytes(a.size)}` },
      { head: "Available", width: "10%", num: true, cell: (a) => bytes(a.available) },
      { head: "Volumes", width: "8%", num: true, cell: (a) => count(a.volumes) },
    ], c.aggregates);
    show(svms, "svm", [
      { head: "Name", width: "26%", cell: (s) => s.name },
      { head: "State", width: "20%", cell: (s) => stateBadge(s.state) },
      { head: "Aggregates", width: "22%", cell: (s) => s.aggregates.join(", ") },
      { head: "Protocols", width: "16%", cell: (s) => s.protocols.join(", ") },
      { head: "Volumes", width: "16%", num: true, cell: (s) => count(s.volumes) },
    ], c.svms);
    const lifRows = c.svms.flatMap((s) => s.lifs.map((x) => ({ ...x, svm: s.name })));
    show(lifs, "lif", [
      { head: "Name", width: "28%", cell: (x) => x.name },
      { head: "SVM", width: "16%", cell: (x) => x.svm },
      { head: "Address", width: "22%", cell: (x) => x.address },
      { head: "Protocols", width: "16%", cell: (x) => x.protocols.join(", ") },
      { head: "Status", width: "18%", cell: (x) => stateBadge(x.status) },
    ], lifRows);
    show(nodes, "node", [
      { head: "Name", cell: (n) => n.name },
      { head: "Serial", cell: (n) => n.serial_number },
      { head: "Model", cell: (n) => n.model },
    ], c.nodes);
    show(users, "user", [
      { head: "Name", cell: (u) => u.name },
      { head: "Scope", cell: (u) => u.scope },
      { head: "Role", cell: (u) => u.role },
      { head: "Sign-in", cell: (u) => u.sign_in.join(", ") },
    ], c.users);
  });
}

// ---------------------------------------------------------------------------------------------
// Faults page

function presets(c, api_) {
  const svm = c.svms[0];
  const lif = c.svms.flatMap((s) => s.lifs).find((l) => l.protocols.includes("nfs")) || c.svms.flatMap((s) => s.lifs)[0];
  const aggr = c.aggregates[0];
  const list = [
    { id: "blackhole", title: "Management port blackhole", desc: "connect times out (ZAPI and REST)",
      run: () => api("PUT", "/listeners/management", { mode: "blackhole" }) },
    { id: "refuse", title: "Management port refused", desc: "connect: connection refused",
      run: () => api("PUT", "/listeners/management", { mode: "refuse" }) },
    { id: "hang", title: `Hang on ${api_}`, desc: "hold the call, never answer",
      run: () => api("POST", "/faults", { name: "preset: hang", match: { api: api_ }, action: { type: "hang" } }) },
    { id: "delay", title: `Slow ${api_} (5 s)`, desc: "answer 5 seconds late",
      run: () => api("POST", "/faults", { name: "preset: slow", match: { api: api_ }, action: { type: "delay", ms: 5000 } }) },
    { id: "eof", title: `EOF on ${api_}`, desc: "close the connection without an answer",
      run: () => api("POST", "/faults", { name: "preset: EOF", match: { api: api_ }, action: { type: "close" } }) },
    { id: "401", title: "401 Unauthorized", desc: "every ZAPI and REST call",
      run: () => api("POST", "/faults", [
        { name: "preset: 401", match: { front: "zapi" }, action: { type: "http_status", status: 401 } },
        { name: "preset: 401", match: { front: "rest" }, action: { type: "http_status", status: 401 } },
      ]) },
    { id: "errno", title: "Errno on volume-create", desc: "ZAPI errno 13001 \"Job exists\"",
      run: () => api("POST", "/faults", { name: "preset: errno", match: { api: "volume-create|volume-create-async" },
        action: { type: "zapi", errno: 13001, reason: "Job exists" } }) },
    { id: "nfs", title: "NFS I/O errors", desc: "READ and WRITE answer NFS3ERR_IO",
      run: () => api("POST", "/faults", { name: "preset: NFS EIO", match: { front: "nfs", api: "READ|WRITE" },
        action: { type: "nfs_error", status: "EIO" } }) },
  ];
  if (lif) list.push({ id: "lif-down", title: `LIF ${lif.name} down`, desc: "the data LIF stops answering",
    run: () => api("POST", `/lif/${encodeURIComponent(lif.name)}/down`) });
  if (svm) list.push({ id: "svm-stop", title: `SVM ${svm.name} stopped`, desc: "its LIFs stop serving",
    run: () => api("POST", `/svm/${encodeURIComponent(svm.name)}/stop`) });
  if (aggr) list.push({ id: "aggr-full", title: `Aggregate ${aggr.name} full`, desc: "filled to 100%: creates fail",
    run: () => api("POST", `/aggregate/${encodeURIComponent(aggr.name)}`, { fill_percent: 100 }) });
  return list;
}

// Everything back to normal: rules removed, listeners normal, LIFs up, SVMs running, no fill.
async function healAll(c) {
  await api("DELETE", "/faults");
  for (const which of ["management", "nfs"]) await api("PUT", `/listeners/${which}`, { mode: "normal" });
  for (const s of c.svms) {
    if (s.state !== "running") await api("POST", `/svm/${encodeURIComponent(s.name)}/start`);
    for (const l of s.lifs) if (l.status !== "up") await api("POST", `/lif/${encodeURIComponent(l.name)}/up`);
  }
  for (const a of c.aggregates) if (a.filled > 0) await api("POST", `/aggregate/${encodeURIComponent(a.name)}`, { fill_percent: 0 });
}

function describeMatch(m) {
  const parts = [];
  for (const k of ["front", "method", "api", "svm", "volume", "user", "client"]) if (m[k]) parts.push(`${k}=${m[k]}`);
  return parts.join(" ") || "everything";
}

function describeAction(a) {
  const extra = Object.entries(a).filter(([k]) => k !== "type").map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : v}`);
  return [a.type, ...extra].join(" ");
}

function describeFire(f) {
  if (f === "always" || f === undefined) return "always";
  if (f.times !== undefined) return `${f.times} times`;
  if (f.probability !== undefined) return `p=${f.probability}`;
  return JSON.stringify(f);
}

const ACTION_PARAMS = {
  delay: ["ms", "max_ms"],
  hang: [],
  close: [],
  reset: [],
  tls_fail: [],
  http_status: ["status"],
  zapi: ["errno", "reason"],
  rest_error: ["status", "code", "message"],
  job_failure: ["code", "message"],
  nfs_error: ["nfs_status"],
};

function faultsPage(page) {
  const main = page.main;
  const status = statusLine();
  const presetApi = h("input", { id: "preset-api", value: "volume-create", size: "22", "aria-describedby": "preset-api-note" });
  const presetBox = h("div", { class: "presets", role: "group", "aria-label": "Presets" });
  const rulesBox = h("div");
  const switchesBox = h("div", { class: "grid" });
  let cluster = null;
  let refresh = () => {};

  // The new-rule form.
  const field = (id, label, input, extra = {}) =>
    h("div", { class: "field", id: "f-" + id, ...extra }, h("label", { for: id }, label), input);
  const sel = (id, options, value) =>
    h("select", { id, name: id }, options.map((o) => h("option", { value: o, selected: o === value }, o || "any")));
  const inp = (id, attrs = {}) => h("input", { id, name: id, ...attrs });
  const form = h("form", { class: "rule", id: "rule-form", "aria-labelledby": "h-new" });
  const params = h("div", { class: "params" },
    field("ms", "Delay ms", inp("ms", { type: "number", min: "0", value: "2000" })),
    field("max_ms", "Up to ms (optional)", inp("max_ms", { type: "number", min: "0" })),
    field("status", "HTTP status", inp("status", { type: "number", min: "100", max: "599", value: "503" })),
    field("errno", "Errno", inp("errno", { type: "number", min: "0", value: "13001" })),
    field("code", "Error code", inp("code", { type: "number", min: "0", value: "13001" })),
    field("reason", "Reason", inp("reason", { value: "injected by ontap-sim" })),
    field("message", "Message", inp("message", { value: "injected by ontap-sim" })),
    field("nfs_status", "NFS status", sel("nfs_status", ["EIO", "NOSPC", "JUKEBOX", "STALE", "ACCES", "ROFS", "DQUOT", "SERVERFAULT"], "EIO")),
  );
  append(form,
    field("front", "Front", sel("front", ["", "zapi", "rest", "nfs", "tcp", "tls"], "")),
    field("api", "API (glob, | alternatives)", inp("api", { placeholder: "volume-create, /api/storage/volumes*, WRITE" })),
    field("method", "REST method", inp("method", { placeholder: "POST|PATCH" })),
    field("svm", "SVM", inp("svm", { placeholder: "svm1" })),
    field("action", "Action", sel("action", Object.keys(ACTION_PARAMS), "hang")),
    field("fire", "Fire", sel("fire", ["always", "times", "probability"], "always")),
    field("fire_n", "Times / probability", inp("fire_n", { value: "1", inputmode: "decimal" })),
    field("name", "Name (optional)", inp("name")),
    params,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add rule")),
  );
  const showParams = () => {
    const want = ACTION_PARAMS[form.elements.action.value] || [];
    for (const p of Object.values(ACTION_PARAMS).flat()) {
      const el = form.querySelector("#f-" + p);
      if (el) el.hidden = !want.includes(p);
    }
    form.querySelector("#fire_n").disabled = form.elements.fire.value === "always";
  };
  form.elements.action.addEventListener("change", showParams);
  form.elements.fire.addEventListener("change", showParams);
  showParams();
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const spec = { match: {}, action: { type: f.action.value } };
    for (const k of ["front", "api", "method", "svm"]) if (f[k].value.trim()) spec.match[k] = f[k].value.trim();
    if (f.name.value.trim()) spec.name = f.name.value.trim();
    for (const p of ACTION_PARAMS[f.action.value]) {
      const v = f[p].value.trim();
      if (p === "nfs_status") spec.action.status = v;
      else if (["reason", "message"].includes(p)) spec.action[p] = v;
      else if (v !== "") spec.action[p] = Number(v);
    }
    if (f.fire.value === "times") spec.fire = { times: Number(f.fire_n.value) };
    if (f.fire.value === "probability") spec.fire = { probability: Number(f.fire_n.value) };
    act(status, `Rule added: ${describeMatch(spec.match)} → ${describeAction(spec.action)}.`, () => api("POST", "/faults", spec), refresh);
  });

  append(
    main,
    h("h1", {}, "Faults"),
    status,
    h("div", { class: "grid" },
      h("section", { class: "panel wide", "aria-labelledby": "h-rules" },
        h("div", { class: "toolbar" },
          h("h2", { id: "h-rules" }, "Active rules"),
          h("button", { type: "button", class: "danger", id: "clear-rules", onclick: () => act(status, "All rules removed.", () => api("DELETE", "/faults"), refresh) }, "Remove all rules")),
        rulesBox),
      h("section", { class: "panel wide", "aria-labelledby": "h-presets" },
        h("div", { class: "toolbar" },
          h("h2", { id: "h-presets" }, "One-click presets"),
          h("div", { class: "field" }, h("label", { for: "preset-api" }, "API for the hang, slow and EOF presets"), presetApi),
          h("button", { type: "button", id: "heal", class: "danger", onclick: () => cluster && act(status, "Everything back to normal.", () => healAll(cluster), refresh) }, "Heal all"),
        ),
        presetBox),
      h("section", { class: "panel wide", "aria-labelledby": "h-new" }, h("h2", { id: "h-new" }, "New rule"), form),
    ),
    h("h2", { class: "switches-title" }, "Switches"),
    switchesBox,
  );

  const drawPresets = () => {
    if (!cluster) return;
    const target = presetApi.value.trim() || "volume-create";
    replace(presetBox, presets(cluster, target).map((p) =>
      h("button", { type: "button", "data-preset": p.id, onclick: () => act(status, `Preset applied: ${p.title}.`, p.run, refresh) },
        h("b", {}, p.title), h("span", {}, p.desc))));
  };
  presetApi.addEventListener("input", drawPresets);

  let rulesTable = null;
  const ruleCols = [
    { head: "Id", width: "5%", num: true, cell: (r) => String(r.id) },
    { head: "Name", width: "14%", cell: (r) => r.spec.name || "" },
    { head: "Match", width: "30%", cell: (r) => describeMatch(r.spec.match) },
    { head: "Action", width: "25%", cell: (r) => describeAction(r.spec.action) },
    { head: "Fire", width: "9%", cell: (r) => describeFire(r.spec.fire) },
    { head: "Hits", width: "7%", num: true, cell: (r) => count(r.fired) },
    { head: "", width: "10%", cell: (r) => h("button", { type: "button", class: "danger", "aria-label": `Remove rule ${r.id}`,
      onclick: () => act(status, `Rule ${r.id} removed.`, () => api("DELETE", `/faults/${r.id}`), refresh) }, "Remove") },
  ];
  const swTables = {};
  const swBoxes = {
    listeners: h("section", { class: "panel", "aria-labelledby": "h-listeners" }, h("h2", { id: "h-listeners" }, "Listeners")),
    lifs: h("section", { class: "panel", "aria-labelledby": "h-sw-lifs" }, h("h2", { id: "h-sw-lifs" }, "LIFs")),
    svms: h("section", { class: "panel", "aria-labelledby": "h-sw-svms" }, h("h2", { id: "h-sw-svms" }, "SVMs")),
    aggrs: h("section", { class: "panel", "aria-labelledby": "h-sw-aggrs" }, h("h2", { id: "h-sw-aggrs" }, "Aggregate fill")),
  };
  append(switchesBox, Object.values(swBoxes));
  const swShow = (key, columns, rows) => {
    if (!swTables[key]) {
      swTables[key] = table(columns, rows);
      swBoxes[key].append(swTables[key]);
    } else fillBody(swTables[key].tBodies[0], columns, rows, "none");
  };
  // Inputs being edited are kept across refreshes (the fill percentage).
  const fillValues = {};

  refresh = poll(page, async () => {
    const [c, rules, l] = await Promise.all([loadCluster(), api("GET", "/faults"), api("GET", "/listeners")]);
    const first = !cluster;
    cluster = c;
    if (first) drawPresets();
    if (!rulesTable) {
      rulesTable = table(ruleCols, rules, { empty: "no rules: the simulator behaves normally" });
      rulesTable.id = "rules";
      replace(rulesBox, rulesTable);
    } else fillBody(rulesTable.tBodies[0], ruleCols, rules, "no rules: the simulator behaves normally");
    swShow("listeners", [
      { head: "Listener", width: "30%", cell: (x) => x.name },
      { head: "Mode", width: "70%", cell: (x) => h("div", { class: "seg", role: "group", "aria-label": `${x.name} listener mode` },
        ["normal", "refuse", "blackhole"].map((m) => h("button", { type: "button", "aria-pressed": String(x.mode === m), "data-listener": x.name, "data-mode": m,
          onclick: () => act(status, `Listener ${x.name}: ${m}.`, () => api("PUT", `/listeners/${x.name}`, { mode: m }), refresh) }, m))) },
    ], [{ name: "management", mode: l.management }, { name: "nfs", mode: l.nfs }]);
    const lifRows = c.svms.flatMap((s) => s.lifs.map((x) => ({ ...x, svm: s.name })));
    swShow("lifs", [
      { head: "LIF", width: "40%", cell: (x) => x.name },
      { head: "Status", width: "25%", cell: (x) => stateBadge(x.status) },
      { head: "", width: "35%", cell: (x) => {
        const to = x.status === "up" ? "down" : "up";
        return h("button", { type: "button", "data-lif": x.name, "data-to": to,
          onclick: () => act(status, `LIF ${x.name} ${to}.`, () => api("POST", `/lif/${encodeURIComponent(x.name)}/${to}`), refresh) },
        to === "down" ? "Take down" : "Bring up");
      } },
    ], lifRows);
    swShow("svms", [
      { head: "SVM", width: "40%", cell: (s) => s.name },
      { head: "State", width: "25%", cell: (s) => stateBadge(s.state) },
      { head: "", width: "35%", cell: (s) => {
        const to = s.state === "running" ? "stop" : "start";
        return h("button", { type: "button", "data-svm": s.name, "data-to": to,
          onclick: () => act(status, `SVM ${s.name}: ${to}.`, () => api("POST", `/svm/${encodeURIComponent(s.name)}/${to}`), refresh) },
        to === "stop" ? "Stop" : "Start");
      } },
    ], c.svms);
    // Rebuilt only when an aggregate changes; a value being typed is kept in fillValues.
    if (!swTables.aggrs) {
      swTables.aggrs = h("div");
      swBoxes.aggrs.append(swTables.aggrs);
    }
    keep(swTables.aggrs, JSON.stringify(c.aggregates), () => replace(swTables.aggrs, c.aggregates.map((a) => {
      const id = "fill-" + a.name;
      const input = h("input", { id, type: "number", min: "0", max: "100", size: "4", value: fillValues[a.name] ?? Math.round((a.filled * 100) / a.size) });
      input.addEventListener("input", () => (fillValues[a.name] = input.value));
      const set = (pct) => act(status, `Aggregate ${a.name} filled to ${pct}%.`, () => api("POST", `/aggregate/${encodeURIComponent(a.name)}`, { fill_percent: Number(pct) }), () => {
        delete fillValues[a.name];
        refresh();
      });
      return h("div", { class: "switch-row" },
        h("div", {}, h("b", {}, a.name), " ", h("span", { class: "note" }, `${bytes(a.used)} of ${bytes(a.size)}, ${bytes(a.filled)} filled from outside`),
          usageBar(a.used, a.size, `aggregate ${a.name} used`)),
        h("div", { class: "toolbar" },
          h("label", { for: id }, "Fill %"), input,
          h("button", { type: "button", onclick: () => set(input.value) }, "Set"),
          h("button", { type: "button", "data-aggr-empty": a.name, onclick: () => set(0) }, "Empty")));
    })));
  });
}

// ---------------------------------------------------------------------------------------------
// Volumes page

const volumeState = { filter: "", svm: "", state: "", sort: "name", order: "asc", offset: 0, limit: 50 };

function volumesPage(page) {
  const main = page.main;
  const s = volumeState;
  const filter = h("input", { id: "vol-filter", type: "search", value: s.filter, placeholder: "name or junction", size: "24" });
  const svmSel = h("select", { id: "vol-svm" }, h("option", { value: "" }, "all SVMs"));
  const stateSel = h("select", { id: "vol-state" }, ["", "online", "offline", "restricted"].map((x) => h("option", { value: x, selected: x === s.state }, x || "any state")));
  const limitSel = h("select", { id: "vol-limit" }, [25, 50, 100].map((n) => h("option", { value: String(n), selected: n === s.limit }, String(n))));
  const countEl = h("span", { class: "count", role: "status", "aria-live": "polite" });
  const status = statusLine();
  const btn = (id, label, fn) => h("button", { type: "button", id, onclick: fn }, label);
  let total = 0;
  let refresh = () => {};
  const go = (offset) => {
    s.offset = Math.max(0, Math.min(offset, Math.max(0, total - 1)));
    s.offset -= s.offset % s.limit;
    refresh();
  };
  const columns = [
    { key: "name", head: "Name", width: "16%", cell: (v) => h("a", { href: `#/volume/${encodeURIComponent(v.svm)}/${encodeURIComponent(v.name)}` }, v.name) },
    { key: "svm", head: "SVM", width: "7%", cell: (v) => v.svm },
    { key: "size", head: "Size", width: "8%", num: true, cell: (v) => bytes(v.size) },
    { key: "used", head: "Used", width: "16%", cell: (v) => h("div", { title: `${bytes(v.used)} of ${bytes(v.size_total)}` }, usageBar(v.used, v.size_total, `volume ${v.name} used`, bytes(v.used))) },
    { key: "junction_path", head: "Junction", width: "14%", cell: (v) => v.junction_path || "—" },
    { key: "export_policy", head: "Policy", width: "9%", cell: (v) => v.export_policy },
    { key: "state", head: "State", width: "9%", cell: (v) => stateBadge(v.state) },
    { key: "snapshots", head: "Snaps", width: "7%", num: true, cell: (v) => count(v.snapshots) },
    { key: "clone_parent", head: "Clone parent", width: "15%", cell: (v) => v.clone_parent ? `${v.clone_parent.volume} @ ${v.clone_parent.snapshot}` : "—" },
  ];
  const headRow = h("tr");
  const drawHead = () => replace(headRow, columns.map((c) => {
    const on = s.sort === c.key;
    return h("th", { scope: "col", class: c.num ? "num" : "", "aria-sort": on ? (s.order === "asc" ? "ascending" : "descending") : "none" },
      h("button", { type: "button", class: "sort", "data-sort": c.key, onclick: () => {
        if (s.sort === c.key) s.order = s.order === "asc" ? "desc" : "asc";
        else { s.sort = c.key; s.order = "asc"; }
        s.offset = 0;
        drawHead();
        refresh();
      } }, c.head, h("span", { class: "arrow", "aria-hidden": "true", text: on ? (s.order === "asc" ? "▲" : "▼") : "" })));
  }));
  drawHead();
  const body = h("tbody");
  const tbl = h("table", { id: "volumes" },
    h("colgroup", {}, columns.map((c) => { const col = h("col"); col.style.width = c.width; return col; })),
    h("thead", {}, headRow), body);
  let debounce = null;
  filter.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { s.filter = filter.value.trim(); s.offset = 0; refresh(); }, 250);
  });
  svmSel.addEventListener("change", () => { s.svm = svmSel.value; s.offset = 0; refresh(); });
  stateSel.addEventListener("change", () => { s.state = stateSel.value; s.offset = 0; refresh(); });
  limitSel.addEventListener("change", () => { s.limit = Number(limitSel.value); s.offset = 0; refresh(); });
  append(main,
    h("h1", {}, "Volumes"),
    h("div", { class: "toolbar", role: "search" },
      h("div", { class: "field" }, h("label", { for: "vol-filter" }, "Filter"), filter),
      h("div", { class: "field" }, h("label", { for: "vol-svm" }, "SVM"), svmSel),
      h("div", { class: "field" }, h("label", { for: "vol-state" }, "State"), stateSel),
      h("div", { class: "field" }, h("label", { for: "vol-limit" }, "Per page"), limitSel)),
    h("section", { class: "panel" }, tbl,
      h("div", { class: "pager" },
        btn("vol-first", "« First", () => go(0)),
        btn("vol-prev", "‹ Previous", () => go(s.offset - s.limit)),
        countEl,
        btn("vol-next", "Next ›", () => go(s.offset + s.limit)),
        btn("vol-last", "Last »", () => go(total - 1)))),
    status);
  let svmsKnown = "";
  refresh = poll(page, async () => {
    const q = new URLSearchParams({ sort: s.sort, order: s.order, offset: String(s.offset), limit: String(s.limit) });
    if (s.filter) q.set("filter", s.filter);
    if (s.svm) q.set("svm", s.svm);
    if (s.state) q.set("state", s.state);
    const [p, c] = await Promise.all([api("GET", "/volumes?" + q), clusterCache ? Promise.resolve(clusterCache) : loadCluster()]);
    const names = c.svms.map((x) => x.name).join("\n");
    if (names !== svmsKnown) {
      svmsKnown = names;
      replace(svmSel, h("option", { value: "" }, "all SVMs"), c.svms.map((x) => h("option", { value: x.name, selected: x.name === s.svm }, x.name)));
    }
    total = p.total;
    if (s.offset >= total && total > 0) { go(total - 1); return; }
    fillBody(body, columns, p.records, s.filter || s.svm || s.state ? "no volume matches" : "no volumes");
    const end = Math.min(total, p.offset + p.records.length);
    countEl.textContent = total ? `${count(p.offset + 1)}–${count(end)} of ${count(total)}` + (total !== p.volumes_total ? ` (${count(p.volumes_total)} in all)` : "") : "0 volumes";
    document.getElementById("vol-first").disabled = document.getElementById("vol-prev").disabled = s.offset === 0;
    document.getElementById("vol-next").disabled = document.getElementById("vol-last").disabled = end >= total;
  });
  if (clusterCache === null) loadCluster().catch(() => {});
}

// One volume.
function volumePage(page, svm, name) {
  const main = page.main;
  const title = h("h1", {}, name, " ", h("span", { class: "sub" }, `in SVM ${svm}`));
  const facts = h("dl", { class: "facts" });
  const mount = h("div");
  const snaps = h("div");
  const qtrees = h("div");
  const rules = h("div");
  const gone = statusLine();
  append(main,
    h("p", {}, h("a", { href: "#/volumes" }, "← Volumes")),
    title, gone, facts,
    h("div", { class: "grid" },
      h("section", { class: "panel wide", "aria-labelledby": "h-mount" }, h("h2", { id: "h-mount" }, "Mount over NFSv3"), mount),
      h("section", { class: "panel", "aria-labelledby": "h-snaps" }, h("h2", { id: "h-snaps" }, "Snapshots"), snaps),
      h("section", { class: "panel", "aria-labelledby": "h-qtrees" }, h("h2", { id: "h-qtrees" }, "Qtrees"), qtrees),
      h("section", { class: "panel wide", "aria-labelledby": "h-rules" }, h("h2", { id: "h-rules" }, "Export rules"), rules)));
  const tables = {};
  const show = (holder, key, columns, rows, empty) => {
    if (!tables[key]) { tables[key] = table(columns, rows, { empty }); replace(holder, tables[key]); }
    else fillBody(tables[key].tBodies[0], columns, rows, empty);
  };
  let mountKey = "";
  poll(page, async () => {
    let v;
    try {
      v = await api("GET", `/volumes/${encodeURIComponent(svm)}/${encodeURIComponent(name)}`);
    } catch (e) {
      if (e.status === 404) { gone.show(`Volume ${name} does not exist (any more) in SVM ${svm}.`, true); return; }
      throw e;
    }
    gone.show("");
    const fact = (k, val) => h("div", {}, h("dt", {}, k), h("dd", {}, val));
    const volLink = (n) => h("a", { href: `#/volume/${encodeURIComponent(svm)}/${encodeURIComponent(n)}` }, n);
    keep(facts, JSON.stringify(v), () => replace(facts,
      fact("State", stateBadge(v.state)),
      fact("Aggregate", v.aggregate),
      fact("Size", bytes(v.size)),
      fact("Used", `${bytes(v.used)} of ${bytes(v.size_total)} (${v.percent_used}%)`),
      fact("Available", bytes(v.available)),
      fact("Junction", v.junction_path || "not mounted"),
      fact("Export policy", v.export_policy),
      fact("Security", `${v.security_style} ${v.unix_permissions} uid ${v.user_id} gid ${v.group_id}`),
      fact("Guarantee", v.guarantee),
      fact("Snapshot policy", `${v.snapshot_policy}, reserve ${v.snapshot_reserve_percent}%`),
      fact("Files", `${count(v.files_used)} of ${count(v.files_total)}`),
      fact("Created", new Date(v.creation_time * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC"),
      v.clone_parent ? fact("Clone of", h("span", {}, volLink(v.clone_parent.volume), ` @ ${v.clone_parent.snapshot}`)) : null,
      v.clones.length ? fact("Clones", v.clones.flatMap((n, i) => (i ? [", ", volLink(n)] : [volLink(n)]))) : null,
      fact("UUID", h("span", { class: "mono" }, v.uuid))));
    const key = JSON.stringify([v.mount, v.mount_note]);
    if (key !== mountKey) {
      mountKey = key;
      replace(mount, v.mount.length
        ? v.mount.map((m) => h("div", {}, h("div", {}, `Through LIF ${m.lif} `, stateBadge(m.status)), h("pre", { class: "cmd", tabindex: "0" }, h("code", {}, m.command))))
        : h("p", { class: "empty" }, v.mount_note || "not mountable"));
    }
    show(snaps, "snaps", [
      { head: "Name", width: "34%", cell: (x) => x.name },
      { head: "Created (UTC)", width: "30%", cell: (x) => new Date(x.create_time * 1000).toISOString().replace("T", " ").slice(0, 19) },
      { head: "Size", width: "14%", num: true, cell: (x) => bytes(x.size) },
      { head: "Clones", width: "22%", cell: (x) => x.clones.join(", ") || "—" },
    ], v.snapshot_list, "no snapshots");
    show(qtrees, "qtrees", [
      { head: "Name", cell: (q) => q.name },
      { head: "Id", num: true, cell: (q) => String(q.id) },
      { head: "Security", cell: (q) => `${q.security_style} ${q.mode}` },
      { head: "Export policy", cell: (q) => q.export_policy || `(volume's: ${v.export_policy})` },
    ], v.qtrees, "no qtrees");
    show(rules, "rules", [
      { head: "Index", width: "8%", num: true, cell: (r) => String(r.index) },
      { head: "Client match", width: "24%", cell: (r) => r.client_match },
      { head: "Protocols", width: "12%", cell: (r) => r.protocols.join(", ") },
      { head: "RO", width: "12%", cell: (r) => r.ro_rule.join(", ") },
      { head: "RW", width: "12%", cell: (r) => r.rw_rule.join(", ") },
      { head: "Superuser", width: "14%", cell: (r) => r.superuser.join(", ") },
      { head: "Anon", width: "10%", cell: (r) => r.anon },
    ], v.export_rules, `policy ${v.export_policy} has no rules: every NFS client is refused`);
  });
}

// ---------------------------------------------------------------------------------------------
// Journal page: a live stream of JSON lines over fetch (so the token goes in a header)

const KEEP_ROWS = 500;

function journalPage(page) {
  const main = page.main;
  const f = { front: "", api: "", svm: "", result: "" };
  const frontSel = h("select", { id: "j-front" }, ["", "zapi", "rest", "nfs", "tcp", "tls"].map((x) => h("option", { value: x }, x || "any front")));
  const resultSel = h("select", { id: "j-result" }, [["", "any result"], ["passed", "passed"], ["failed", "failed"], ["fault", "fault"], ["http_*", "HTTP refusal"]].map(([v, t]) => h("option", { value: v }, t)));
  const apiIn = h("input", { id: "j-api", type: "search", placeholder: "volume-* or /api/storage/*", size: "22" });
  const svmIn = h("input", { id: "j-svm", type: "search", placeholder: "svm1", size: "10" });
  const pause = h("button", { type: "button", id: "j-pause", "aria-pressed": "false" }, "Pause");
  const live = h("span", { class: "note", id: "j-live", role: "status", "aria-live": "polite" });
  const body = h("tbody");
  const detail = h("div", { class: "detail", id: "j-detail" }, h("p", { class: "empty" }, "Select a request to see its detail."));
  const cols = ["Time (UTC)", "Front", "API", "SVM", "User", "Result", "Errno", "ms"];
  const widths = ["13%", "7%", "30%", "9%", "10%", "12%", "8%", "11%"];
  const tbl = h("table", { id: "journal" },
    h("colgroup", {}, widths.map((w) => { const c = h("col"); c.style.width = w; return c; })),
    h("thead", {}, h("tr", {}, cols.map((c, i) => h("th", { scope: "col", class: i >= 6 ? "num" : "" }, c)))), body);
  append(main,
    h("h1", {}, "Journal"),
    h("div", { class: "toolbar", role: "search" },
      h("div", { class: "field" }, h("label", { for: "j-front" }, "Front"), frontSel),
      h("div", { class: "field" }, h("label", { for: "j-api" }, "API"), apiIn),
      h("div", { class: "field" }, h("label", { for: "j-svm" }, "SVM"), svmIn),
      h("div", { class: "field" }, h("label", { for: "j-result" }, "Result"), resultSel),
      pause, h("button", { type: "button", onclick: () => { replace(body); shown = 0; } }, "Clear view"), live),
    h("div", { class: "journal-wrap" },
      h("section", { class: "panel journal-table", "aria-label": "Requests, newest first" }, tbl),
      h("section", { class: "panel", "aria-labelledby": "h-detail" }, h("h2", { id: "h-detail" }, "Request"), detail)));

  let shown = 0;
  let paused = false;
  let held = [];
  let controller = null;
  let lastSeq = 0;
  let selected = null;
  const entries = new Map();

  const showDetail = async (e, tr) => {
    if (selected) selected.classList.remove("selected");
    selected = tr;
    tr.classList.add("selected");
    const row = (k, v) => (v === undefined || v === null ? null : [h("dt", {}, k), h("dd", {}, String(v))]);
    const dl = h("dl", {},
      row("Sequence", e.seq), row("Time", e.time), row("Peer", e.peer), row("User", e.user), row("SVM", e.svm),
      row("Front", e.front), row("API", e.api), row("Result", e.result), row("Errno", e.errno),
      row("Fault rule", e.fault), row("Latency", `${e.latency_us} µs`));
    replace(detail, dl);
    if (e.fault) {
      try {
        const rules = await api("GET", "/faults");
        const r = rules.find((x) => x.id === e.fault);
        append(detail, h("h3", {}, `Fault rule ${e.fault}`),
          r ? h("p", {}, `${describeMatch(r.spec.match)} → ${describeAction(r.spec.action)} (${describeFire(r.spec.fire)}, ${r.fired} hits)`)
            : h("p", { class: "empty" }, "no longer active"));
      } catch (_) { /* the detail stays as it is */ }
    }
  };

  const addRow = (e) => {
    if (e.seq <= lastSeq) return; // a reconnect replays the backlog
    lastSeq = e.seq;
    entries.set(e.seq, e);
    const kind = e.result === "fault" ? "fault" : e.result === "passed" ? "" : "bad";
    const tr = h("tr", { class: kind, "data-seq": String(e.seq), "data-result": e.result });
    const open = h("button", { type: "button", class: "link", "aria-label": `Request ${e.seq}: ${e.api}, ${e.result}` }, (e.time || "").slice(11, 23));
    open.addEventListener("click", () => showDetail(e, tr));
    append(tr,
      h("td", { class: "mono" }, open),
      h("td", {}, e.front),
      h("td", { title: e.api }, e.api),
      h("td", {}, e.svm || ""),
      h("td", {}, e.user || ""),
      h("td", { class: "result" }, e.result + (e.fault ? ` #${e.fault}` : "")),
      h("td", { class: "num" }, e.errno ?? ""),
      h("td", { class: "num" }, (e.latency_us / 1000).toFixed(1)));
    body.prepend(tr);
    shown++;
    while (shown > KEEP_ROWS && body.lastChild) {
      entries.delete(Number(body.lastChild.dataset.seq));
      body.lastChild.remove();
      shown--;
    }
  };

  const connect = async () => {
    if (controller) controller.abort();
    const mine = new AbortController();
    controller = mine;
    replace(body);
    shown = 0;
    lastSeq = 0;
    held = [];
    const q = new URLSearchParams({ follow: "1", limit: "200" });
    for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
    while (!mine.signal.aborted) {
      try {
        const r = await fetch("/journal?" + q, { headers: authHeaders(), signal: mine.signal, cache: "no-store" });
        if (r.status === 401) {
          sessionStorage.removeItem(TOKEN_KEY);
          await askToken(true);
          continue;
        }
        if (!r.ok || !r.body) throw new Error("HTTP " + r.status);
        setConn(true);
        live.textContent = "● live";
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            let e;
            try { e = JSON.parse(line); } catch (_) { continue; }
            if (paused) held.push(e);
            else addRow(e);
          }
        }
      } catch (e) {
        if (mine.signal.aborted) return;
        setConn(false);
      }
      if (mine.signal.aborted) return;
      live.textContent = "reconnecting…";
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  page.cleanups.push(() => controller && controller.abort());
  let debounce = null;
  const changed = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      f.front = frontSel.value;
      f.result = resultSel.value;
      f.api = apiIn.value.trim();
      f.svm = svmIn.value.trim();
      connect();
    }, 250);
  };
  for (const el of [frontSel, resultSel]) el.addEventListener("change", changed);
  for (const el of [apiIn, svmIn]) el.addEventListener("input", changed);
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume" : "Pause";
    live.textContent = paused ? "paused" : "● live";
    if (!paused) {
      for (const e of held) addRow(e);
      held = [];
    }
  });
  connect();
}

// ---------------------------------------------------------------------------------------------
// Metrics: /metrics parsed every 2 s from the start, a short history kept in the page

const METRICS_MS = 2000;
const HISTORY = 150; // 5 minutes
const history = [];
let lastMetricsText = "";
const metricsListeners = new Set();

function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)$/);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      const re = /(\w+)="((?:[^"\\]|\\.)*)"/g;
      let x;
      while ((x = re.exec(m[3]))) labels[x[1]] = x[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

// Sum samples of `name` grouped by the label `by` (or one group "all").
function group(samples, name, by, pick = () => true) {
  const g = {};
  for (const s of samples) {
    if (s.name !== name || !pick(s)) continue;
    const k = by ? s.labels[by] ?? "" : "all";
    g[k] = (g[k] || 0) + s.value;
  }
  return g;
}

async function sampleMetrics() {
  try {
    const text = await api("GET", "/metrics");
    const s = parseMetrics(text);
    lastMetricsText = text;
    history.push({
      t: Date.now(),
      requests: group(s, "ontap_sim_requests_total", "front"),
      failures: group(s, "ontap_sim_requests_total", "front", (x) => x.labels.result !== "passed"),
      faults: group(s, "ontap_sim_faults_fired_total", null),
      latSum: group(s, "ontap_sim_request_duration_seconds_sum", "front"),
      latCount: group(s, "ontap_sim_request_duration_seconds_count", "front"),
      volumes: group(s, "ontap_sim_volumes", "svm"),
      snapshots: group(s, "ontap_sim_snapshots", "svm"),
      aggrUsed: group(s, "ontap_sim_aggregate_used_bytes", "aggregate"),
      aggrSize: group(s, "ontap_sim_aggregate_size_bytes", "aggregate"),
    });
    while (history.length > HISTORY) history.shift();
    for (const f of metricsListeners) f();
  } catch (_) { /* shown by the connection status */ }
  setTimeout(sampleMetrics, METRICS_MS);
}

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];

// Series from the history: for counters, per-second rates between samples.
function series(key, rate, derive) {
  const names = new Set();
  for (const p of history) for (const k of Object.keys(derive ? derive(p) : p[key])) names.add(k);
  const out = {};
  for (const n of names) {
    const pts = [];
    for (let i = 0; i < history.length; i++) {
      const p = history[i];
      const v = derive ? derive(p)[n] : p[key][n];
      if (!rate) { if (v !== undefined) pts.push([p.t, v]); continue; }
      if (i === 0) continue;
      const q = history[i - 1];
      const was = derive ? derive(q)[n] ?? 0 : q[key][n] ?? 0;
      const dt = (p.t - q.t) / 1000;
      if (dt > 0 && v !== undefined) pts.push([p.t, Math.max(0, (v - was) / dt)]);
    }
    out[n] = pts;
  }
  return out;
}

function chart(holder, title, unit, data, fmt) {
  const W = 300;
  const H = 110;
  const now = Date.now();
  // The x axis spans the history kept so far (at least 20 s, at most 5 minutes).
  const first = history.length ? history[0].t : now;
  const t0 = Math.min(now - 20_000, Math.max(first, now - HISTORY * METRICS_MS));
  let max = 0;
  for (const pts of Object.values(data)) for (const [, v] of pts) max = Math.max(max, v);
  if (max <= 0) max = 1;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": `${title}, last ${Math.round((now - t0) / 1000)} seconds` });
  for (const y of [0.25, 0.5, 0.75]) s.append(svg("line", { x1: 0, x2: W, y1: H * y, y2: H * y, stroke: "#e5e7eb", "stroke-width": 1 }));
  const names = Object.keys(data).sort();
  names.forEach((n, i) => {
    const pts = data[n].map(([t, v]) => `${(((t - t0) / (now - t0)) * W).toFixed(1)},${(H - 4 - (v / max) * (H - 10)).toFixed(1)}`);
    if (!pts.length) return;
    s.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 2, "vector-effect": "non-scaling-stroke" }));
    // The newest value as a dot, so a single sample shows too.
    const [x, y] = pts[pts.length - 1].split(",");
    s.append(svg("rect", { x: Number(x) - 3, y: Number(y) - 3, width: 6, height: 6, fill: COLORS[i % COLORS.length] }));
  });
  const last = (n) => { const p = data[n]; return p.length ? p[p.length - 1][1] : 0; };
  const total = names.reduce((a, n) => a + last(n), 0);
  replace(holder,
    h("h2", {}, title),
    h("div", { class: "now" }, names.length ? fmt(total) + (unit ? " " + unit : "") : "—"),
    s,
    h("div", { class: "legend" }, names.map((n, i) => {
      const sw = h("i");
      sw.style.background = COLORS[i % COLORS.length];
      return h("span", {}, sw, `${n || "—"}: ${fmt(last(n))}`);
    })),
    h("div", { class: "note" }, `scale: 0 – ${fmt(max)}${unit ? " " + unit : ""}, last ${Math.round((now - t0) / 1000)} s`));
}

function metricsPage(page) {
  const main = page.main;
  const ids = ["requests", "failures", "faults", "latency", "volumes", "snapshots", "aggr"];
  const boxes = Object.fromEntries(ids.map((id) => [id, h("section", { class: "panel chart", id: "chart-" + id })]));
  const raw = h("pre", { class: "mono", id: "raw-metrics" });
  append(main,
    h("h1", {}, "Metrics ", h("span", { class: "sub" }, "the control API's /metrics, sampled every 2 s, last 5 minutes")),
    h("div", { class: "charts" }, Object.values(boxes)),
    h("details", { class: "panel" }, h("summary", {}, "Raw Prometheus text"), raw));
  const f1 = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const draw = () => {
    chart(boxes.requests, "Requests / s by front", "", series("requests", true), f1);
    chart(boxes.failures, "Failed, refused or faulted / s", "", series("failures", true), f1);
    chart(boxes.faults, "Faults fired / s", "", series("faults", true), f1);
    chart(boxes.latency, "Mean latency by front", "ms", (() => {
      const sum = series("latSum", true);
      const cnt = series("latCount", true);
      const out = {};
      for (const n of Object.keys(sum)) {
        out[n] = sum[n].map(([t, v], i) => [t, cnt[n] && cnt[n][i] && cnt[n][i][1] > 0 ? (v / cnt[n][i][1]) * 1000 : 0]);
      }
      return out;
    })(), (v) => v.toFixed(2));
    chart(boxes.volumes, "Volumes by SVM", "", series("volumes", false), (v) => count(Math.round(v)));
    chart(boxes.snapshots, "Snapshots by SVM", "", series("snapshots", false), (v) => count(Math.round(v)));
    chart(boxes.aggr, "Aggregate used", "%", series(null, false, (p) => {
      const o = {};
      for (const [a, u] of Object.entries(p.aggrUsed)) o[a] = p.aggrSize[a] ? (u * 100) / p.aggrSize[a] : 0;
      return o;
    }), (v) => v.toFixed(1));
    if (raw.textContent !== lastMetricsText) raw.textContent = lastMetricsText;
  };
  draw();
  metricsListeners.add(draw);
  page.cleanups.push(() => metricsListeners.delete(draw));
}

// ---------------------------------------------------------------------------------------------
// Router

const PAGES = {
  cluster: clusterPage,
  volumes: volumesPage,
  journal: journalPage,
  faults: faultsPage,
  metrics: metricsPage,
};

let current = null;

function route() {
  if (current) for (const c of current.cleanups) c();
  const hash = location.hash.replace(/^#\/?/, "") || "cluster";
  const parts = hash.split("/").map(decodeURIComponent);
  const main = document.getElementById("main");
  replace(main);
  current = { main, cleanups: [] };
  let nav = parts[0];
  if (parts[0] === "volume" && parts.length === 3) {
    nav = "volumes";
    document.title = `${parts[2]} · ontap-sim console`;
    volumePage(current, parts[1], parts[2]);
  } else {
    const fn = PAGES[parts[0]] || PAGES.cluster;
    nav = PAGES[parts[0]] ? parts[0] : "cluster";
    document.title = `${nav[0].toUpperCase()}${nav.slice(1)} · ontap-sim console`;
    fn(current);
  }
  for (const a of document.querySelectorAll("nav a[data-page]")) {
    if (a.dataset.page === nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.body.dataset.page = nav;
}

window.addEventListener("hashchange", () => {
  route();
  document.getElementById("main").focus({ preventScroll: true });
});
route();
sampleMetrics();
