// Cloudflare's AgentClient with a token in its query (how a browser authenticates a
// WebSocket). Prints {identified, state} for a good token, {closeCode, reason} for a bad one.
//   node agent_client_auth.mjs <host:port> <agent name> <token>
import { AgentClient } from "agents/client";
import WebSocket from "ws";

const [host, name, token] = process.argv.slice(2);
const out = { errors: [] };
try {
  const client = new AgentClient({ agent: "RecorderAgent", name, host, WebSocket, query: { token } });
  const closed = new Promise((resolve) => client.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  const result = await Promise.race([
    client.ready.then(() => ({ identified: client.identified, state: client.state ?? null })),
    closed.then((c) => ({ closeCode: c.code, reason: c.reason })),
    new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 10000)),
  ]);
  Object.assign(out, result);
  client.close();
} catch (error) {
  out.errors.push(String(error && error.stack || error));
}
console.log(JSON.stringify(out));
process.exit(0);
