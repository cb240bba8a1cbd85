// Drives Cloudflare's AgentClient (npm `agents`, with `ws` as its WebSocket) against our
// server and prints what it observed as one JSON object. Usage:
//   node agent_client_check.mjs <host:port> <agent name>
import { AgentClient } from "agents/client";
import WebSocket from "ws";

const [host, name] = process.argv.slice(2);
const out = { frames: [], stateUpdatesB: [], messages: [], errors: [] };
const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms));

function connect(extra = {}) {
  // `agent` is given in class-name form: the client turns it into `task-agent`.
  return new AgentClient({ agent: "TaskAgent", name, host, WebSocket, ...extra });
}

try {
  const a = connect();
  a.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    out.frames.push(data.type);
    if (data.type === "workflow_progress" || data.type === "workflow_status") out.messages.push(data);
  });
  await Promise.race([a.ready, timeout(10000, "a.ready")]);
  out.identified = a.identified;
  out.agent = a.agent;
  out.name = a.name;
  out.initialState = a.state ?? null;

  const b = connect({ onStateUpdate: (state, source) => out.stateUpdatesB.push({ state, source }) });
  await Promise.race([b.ready, timeout(10000, "b.ready")]);

  out.pong = await a.call("list_workflows", [null]);
  a.setState({ theme: "dark", from: "a" });
  await new Promise((resolve) => setTimeout(resolve, 500));

  try {
    await a.call("not_a_method", []);
  } catch (error) {
    out.rpcError = String(error.message);
  }

  const runId = await a.call("start_workflow", ["process_items", { items: ["x", "y", "z", "w"], delay_ms: 50 }]);
  out.runId = runId;
  const deadline = Date.now() + 30000;
  while (!out.messages.some((m) => m.type === "workflow_status" && m.status === "complete") && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  out.finalStateA = a.state;
  a.close();
  b.close();
} catch (error) {
  out.errors.push(String(error && error.stack || error));
}
console.log(JSON.stringify(out));
process.exit(0);
