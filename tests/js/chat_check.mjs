// Drives Cloudflare's chat client (npm `agents`: WebSocketChatTransport from
// `agents/chat/transport` over AgentClient from `agents/client`, with `ws`) against our
// chat agent, and prints what it observed as one JSON object. Usage:
//   node chat_check.mjs <host:port> <agent name prefix>
// Each scenario uses an agent (a conversation) of its own: `<prefix>-<scenario>`.
import { AgentClient } from "agents/client";
import { WebSocketChatTransport } from "agents/chat/transport";
import WebSocket from "ws";

const [host, prefix] = process.argv.slice(2);
const out = { errors: [] };
const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;
const userMessage = (text) => ({ id: `u${++counter}`, role: "user", parts: [{ type: "text", text }] });

async function open(name, options = {}) {
  const agent = new AgentClient({ agent: "chat-agent", name: `${prefix}-${name}`, host, WebSocket });
  await Promise.race([agent.ready, timeout(10000, `${name}: ready`)]);
  const transport = new WebSocketChatTransport({ agent, ...options });
  const frames = [];
  // What useAgentChat does for the transport: hand it the resume handshake's answers.
  agent.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    frames.push(data);
    if (data.type === "cf_agent_stream_resuming") transport.handleStreamResuming(data);
    else if (data.type === "cf_agent_stream_resume_none") transport.handleStreamResumeNone(data);
    else if (data.type === "cf_agent_stream_pending") transport.handleStreamPending();
  });
  return { agent, transport, frames };
}

async function read(stream, { stopAfter, what } = {}) {
  const chunks = [];
  const reader = stream.getReader();
  const reading = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      chunks.push(value);
      if (stopAfter && chunks.length >= stopAfter) return;
    }
  })();
  await Promise.race([reading, timeout(30000, what ?? "stream")]);
  return chunks;
}

const textOf = (chunks) => chunks.filter((c) => c.type === "text-delta").map((c) => c.delta).join("");
const typesOf = (chunks) => chunks.map((c) => c.type).filter((t, i, all) => !(t.endsWith("-delta") && all[i - 1] === t));
const send = (transport, messages, extra = {}) =>
  transport.sendMessages({ chatId: "c", messages, trigger: "submit-message", abortSignal: undefined, ...extra });

async function scenario(name, fn) {
  try {
    out[name] = await fn();
  } catch (error) {
    out.errors.push(`${name}: ${error.stack ?? error}`);
  }
}

await scenario("turn", async () => {
  const a = await open("turn");
  const b = await open("turn");
  const chunks = await read(await send(a.transport, [userMessage("hello from node")]), { what: "turn" });
  await sleep(200);
  const synced = b.frames.find((f) => f.type === "cf_agent_chat_messages");
  const liveB = b.frames.filter((f) => f.type === "cf_agent_use_chat_response" && f.body).length;
  a.agent.close();
  b.agent.close();
  return { types: typesOf(chunks), text: textOf(chunks), syncedToB: synced?.messages?.length ?? 0, liveFramesB: liveB };
});

await scenario("tool", async () => {
  const a = await open("tool");
  const chunks = await read(await send(a.transport, [userMessage("weather in Lisbon please")]), { what: "tool" });
  a.agent.close();
  const input = chunks.find((c) => c.type === "tool-input-available");
  const output = chunks.find((c) => c.type === "tool-output-available");
  return { input: input?.input, forecast: output?.output?.forecast, text: textOf(chunks) };
});

await scenario("resume", async () => {
  const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ");
  const a = await open("resume");
  const first = await read(await send(a.transport, [userMessage(words)]), { stopAfter: 6, what: "first part" });
  a.agent.close(); // gone mid-answer
  const b = await open("resume");
  const resumed = await b.transport.reconnectToStream({ chatId: "c" });
  if (resumed === null) throw new Error("reconnectToStream found no stream");
  const chunks = await read(resumed, { what: "resumed" });
  b.agent.close();
  return { firstChunks: first.length, text: textOf(chunks), expected: `You said: ${words}` };
});

for (const approved of [true, false]) {
  await scenario(approved ? "approve" : "deny", async () => {
    const a = await open(approved ? "approve" : "deny");
    const chunks = await read(await send(a.transport, [userMessage("deploy to production")]), { what: "approval" });
    const request = chunks.find((c) => c.type === "tool-approval-request");
    a.agent.send(JSON.stringify({ type: "cf_agent_tool_approval", toolCallId: request.toolCallId, approved, autoContinue: true }));
    a.transport.expectToolContinuation();
    const continuation = await a.transport.reconnectToStream({ chatId: "c" });
    const more = await read(continuation, { what: "continuation" });
    a.agent.close();
    return { asked: typesOf(chunks).includes("tool-approval-request"), types: typesOf(more), text: textOf(more) };
  });
}

await scenario("cancel", async () => {
  const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(" ");
  const a = await open("cancel", { cancelOnClientAbort: true });
  const abort = new AbortController();
  const stream = await send(a.transport, [userMessage(words)], { abortSignal: abort.signal });
  const first = await read(stream, { stopAfter: 5, what: "before cancel" });
  abort.abort();
  await sleep(1500);
  const done = a.frames.find((f) => f.type === "cf_agent_use_chat_response" && f.done);
  a.agent.close();
  return { before: first.length, outcome: done?.outcome ?? null };
});

await scenario("idle", async () => {
  const a = await open("idle");
  const started = Date.now();
  const stream = await a.transport.reconnectToStream({ chatId: "c" });
  a.agent.close();
  return { none: stream === null, ms: Date.now() - started };
});

await scenario("regenerate", async () => {
  const a = await open("regenerate");
  const hello = userMessage("say it twice");
  const first = await read(await send(a.transport, [hello]), { what: "first" });
  const again = await read(await send(a.transport, [hello], { trigger: "regenerate-message" }), { what: "again" });
  a.agent.close();
  return { first: textOf(first), again: textOf(again), newMessage: first[0].messageId !== again[0].messageId };
});

console.log(JSON.stringify(out));
process.exit(0);
