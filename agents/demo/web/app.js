// The demo page: a task-agent's runs and state, live over its WebSocket (the same
// protocol as Cloudflare's agents client) plus the HTTP workflow API. No polling.

import { ChatPanel } from "./chat.js";

const $ = (selector) => document.querySelector(selector);
const runs = new Map(); // workflow_id -> run row (as the HTTP API returns it)
let socket = null;
let chat = null;
let agentName = null;
// With authentication on, open the page as /?token=<API key or JWT>: it goes in the
// Authorization header of API calls and in the WebSocket URL (browsers cannot set headers there).
const token = new URLSearchParams(location.search).get("token");
const AUTH_HINT = token
  ? "401: the API refused this token: open the page as /?token=<a valid API key or JWT>"
  : "401: this API needs a key: open the page as /?token=<API key or JWT>";

class AgentSocket {
  // A small client of the agent protocol: identity/state frames, rpc, broadcasts; it
  // reconnects with backoff and the server resends identity and state on each connect.
  constructor(agent, name, { onState, onMessage, onOpen, onClose }) {
    Object.assign(this, { agent, name, onState, onMessage, onOpen, onClose });
    this.id = crypto.randomUUID();
    this.pending = new Map();
    this.delay = 200;
    this.closed = false;
    this.open();
  }
  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.ws = new WebSocket(`${scheme}://${location.host}/agents/${this.agent}/${encodeURIComponent(this.name)}?_pk=${this.id}${token ? `&token=${encodeURIComponent(token)}` : ""}`);
    this.ws.onmessage = (event) => this.dispatch(JSON.parse(event.data));
    this.ws.onopen = () => { this.delay = 200; this.onOpen?.(); };
    this.ws.onclose = () => {
      this.onClose?.();
      for (const { reject } of this.pending.values()) reject(new Error("connection closed"));
      this.pending.clear();
      if (!this.closed) setTimeout(() => this.open(), (this.delay = Math.min(this.delay * 2, 5000)));
    };
  }
  dispatch(frame) {
    if (frame.type === "cf_agent_state") return this.onState(frame.state);
    if (frame.type === "rpc") {
      const call = this.pending.get(frame.id);
      if (!call || frame.done === false) return;
      this.pending.delete(frame.id);
      return frame.success ? call.resolve(frame.result) : call.reject(new Error(frame.error));
    }
    if (frame.type !== "cf_agent_identity" && frame.type !== "cf_agent_mcp_servers") this.onMessage(frame);
  }
  call(method, args = []) {
    const id = crypto.randomUUID();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ type: "rpc", id, method, args }));
    });
  }
  close() { this.closed = true; this.ws.close(); }
}

async function api(method, path, body) {
  const response = await fetch(`/agents/task-agent/${encodeURIComponent(agentName)}${path}`, {
    method, headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) throw new Error(AUTH_HINT);
  const data = await response.json();
  if (!response.ok) throw new Error(data.message || response.statusText);
  return data;
}

function showError(error) { $("#error").textContent = error ? String(error.message || error) : ""; }

function fraction(progress) {
  if (!progress || typeof progress !== "object") return null;
  if (typeof progress.fraction === "number") return progress.fraction;
  if (typeof progress.processed === "number" && progress.total) return progress.processed / progress.total;
  return null;
}

function render() {
  const rows = [...runs.values()].sort((a, b) => b.created_at - a.created_at || (a.workflow_id < b.workflow_id ? 1 : -1));
  $("#total").textContent = `(${rows.length})`;
  $("#runs").replaceChildren(...rows.map(renderRow));
}

function button(label, action, run, style = "secondary") {
  const b = document.createElement("button");
  b.textContent = label;
  b.className = style;
  b.dataset.action = action;
  b.onclick = () => control(run, action, b.closest("tr").querySelector("input.reason")?.value);
  return b;
}

function renderRow(run) {
  const tr = document.createElement("tr");
  tr.dataset.runId = run.workflow_id;
  tr.dataset.status = run.status;
  const f = run.status === "complete" && run.workflow_name === "process_items" ? 1 : fraction(run.progress);
  const progress = f === null ? "" : `<progress max="1" value="${f}"></progress> ${Math.round(f * 100)}%`;
  tr.innerHTML = `<td class="id" title="${run.temporal_workflow_id}">${run.workflow_id}</td><td>${run.workflow_name}</td>
    <td><span class="status ${run.status}">${run.status}</span></td><td class="progress">${progress}</td><td class="actions"></td>`;
  const actions = tr.querySelector(".actions");
  if (run.status === "waiting" && run.workflow_name === "approval") {
    const reason = document.createElement("input");
    reason.className = "reason";
    reason.placeholder = "reason";
    actions.append(reason, button("Approve", "approve", run, ""), button("Reject", "reject", run, "danger"));
  }
  if (["queued", "running", "waiting"].includes(run.status)) actions.append(button("Pause", "pause", run));
  if (run.status === "paused") actions.append(button("Resume", "resume", run));
  if (!["complete", "errored", "terminated"].includes(run.status)) actions.append(button("Terminate", "terminate", run, "danger"));
  actions.append(button("Restart", "restart", run));
  if (run.error) actions.append(Object.assign(document.createElement("span"), { className: "error", textContent: run.error.message }));
  return tr;
}

async function control(run, action, reason) {
  showError(null);
  try {
    const body = action === "approve" || action === "reject" ? { reason: reason || null } : undefined;
    const updated = await api("POST", `/workflows/${run.workflow_id}/${action}`, body);
    if (updated.workflow_id) { runs.set(updated.workflow_id, updated); render(); }
  } catch (error) { showError(error); }
}

// Messages are applied one after the other: one that has to fetch its run first must not
// be overtaken by the next (a `running` fetched late would undo the `waiting` after it).
let applying = Promise.resolve();
function onMessage(message) { applying = applying.then(() => applyMessage(message)).catch(showError); }

async function applyMessage(message) {
  if (message.type !== "workflow_status" && message.type !== "workflow_progress") return;
  let run = runs.get(message.workflow_id);
  if (!run) {
    try { run = await api("GET", `/workflows/${message.workflow_id}`); } catch { return; }
  }
  if (message.type === "workflow_status") Object.assign(run, { status: message.status, result: message.result ?? run.result, error: message.error ?? run.error });
  else run.progress = message.progress;
  runs.set(run.workflow_id, run);
  render();
}

async function openAgent(name) {
  socket?.close();
  chat?.close();
  chat = new ChatPanel($("#chat"), name, token);
  agentName = name;
  runs.clear();
  render();
  socket = new AgentSocket("task-agent", name, {
    onState: (state) => { $("#state").textContent = JSON.stringify(state, null, 2); },
    onMessage,
    onOpen: async () => {
      $("#connection").classList.add("open");
      const page = await api("GET", "/workflows?limit=100");  // once per (re)connect, then live
      for (const run of page.workflows) runs.set(run.workflow_id, run);
      render();
    },
    onClose: async () => {
      $("#connection").classList.remove("open");
      // A refused upgrade looks like any lost connection: ask over HTTP why.
      try { await api("GET", "/state"); } catch (error) { if (String(error.message).startsWith("401")) showError(error); }
    },
  });
}

function paramsOf(form) {
  const data = Object.fromEntries(new FormData(form));
  if (form.dataset.workflow === "process_items") {
    return { items: Array.from({ length: Number(data.count) }, (_, i) => `item-${i + 1}`), delay_ms: Number(data.delay_ms) };
  }
  return data;
}

document.querySelectorAll("form.start").forEach((form) => form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(null);
  try {
    const run = await api("POST", "/workflows", { workflow: form.dataset.workflow, params: paramsOf(form) });
    if (!runs.has(run.workflow_id)) runs.set(run.workflow_id, run);
    render();
  } catch (error) { showError(error); }
}));

$("#agent-form").addEventListener("submit", (event) => { event.preventDefault(); openAgent($("#agent-name").value); });
const fromUrl = new URLSearchParams(location.search).get("agent");
if (fromUrl) $("#agent-name").value = fromUrl;
openAgent($("#agent-name").value);
