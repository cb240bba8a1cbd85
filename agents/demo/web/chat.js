// The demo page's chat panel: the chat-agent of the same name, over Cloudflare's chat
// protocol (what `useAgentChat` speaks), written out by hand to show the frames: a request
// per message, one chunk per frame as the model streams, resume on (re)connect, tool
// approvals that wait as long as it takes.

const el = (tag, attrs = {}, text = "") => Object.assign(document.createElement(tag), attrs, text ? { textContent: text } : {});

export class ChatPanel {
  constructor(root, name, token) {
    Object.assign(this, { root, name, token, messages: [], closed: false });
    this.list = root.querySelector("[data-chat=messages]");
    this.form = root.querySelector("[data-chat=form]");
    this.error = root.querySelector("[data-chat=error]");
    this.button = this.form.querySelector("button");
    this.form.onsubmit = (event) => { event.preventDefault(); this.send(this.form.elements.text.value); this.form.reset(); };
    this.open();
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const auth = this.token ? `&token=${encodeURIComponent(this.token)}` : "";
    this.ws = new WebSocket(`${scheme}://${location.host}/agents/chat-agent/${encodeURIComponent(this.name)}?_pk=${crypto.randomUUID()}${auth}`);
    this.ws.onopen = async () => {
      const headers = this.token ? { authorization: `Bearer ${this.token}` } : {};
      const response = await fetch(`/agents/chat-agent/${encodeURIComponent(this.name)}/get-messages`, { headers });
      if (response.ok) this.messages = await response.json();
      this.render();
      this.frame({ type: "cf_agent_stream_resume_request" }); // an answer in progress continues here
    };
    this.ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.ws.onclose = () => { if (!this.closed) setTimeout(() => this.open(), 1000); };
  }

  close() { this.closed = true; this.ws.close(); }
  // One turn at a time: the agent refuses a message while it answers, so the button waits.
  busy(on) { this.button.disabled = on; }
  frame(data) { this.ws.send(JSON.stringify(data)); }

  send(text) {
    if (!text.trim()) return;
    const message = { id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text }] };
    this.messages.push(message);
    this.render();
    this.busy(true);
    const body = JSON.stringify({ messages: [message], trigger: "submit-message" });
    this.frame({ type: "cf_agent_use_chat_request", id: crypto.randomUUID().slice(0, 8), init: { method: "POST", body } });
  }

  decide(toolCallId, approved) {
    this.busy(true);
    this.frame({ type: "cf_agent_tool_approval", toolCallId, approved, autoContinue: true });
    this.frame({ type: "cf_agent_stream_resume_request" }); // the continuation comes under a new request id
  }

  receive(data) {
    switch (data.type) {
      case "cf_agent_chat_messages": this.messages = data.messages; break;
      case "cf_agent_chat_clear": this.messages = []; break;
      case "cf_agent_message_updated": this.messages = this.messages.map((m) => (m.id === data.message.id ? data.message : m)); break;
      case "cf_agent_stream_resuming": this.frame({ type: "cf_agent_stream_resume_ack", id: data.id }); return;
      case "cf_agent_stream_resume_none": this.busy(false); return;
      case "error": this.error.textContent = data.error; this.busy(false); return;
      case "cf_agent_use_chat_response":
        if (data.error) { this.error.textContent = data.body; this.busy(false); return; }
        if (data.body) this.apply(JSON.parse(data.body), data.continuation);
        if (data.done && data.outcome !== "recovering") this.busy(false);
        if (data.done && data.outcome === "recovering") this.frame({ type: "cf_agent_stream_resume_request" });
        break;
      default: return;
    }
    this.render();
  }

  apply(chunk, continuation) {
    let message = this.messages.at(-1);
    if (chunk.type === "start") {
      this.error.textContent = "";
      if (message?.id === chunk.messageId && !continuation) message.parts = []; // a replay starts over
      else if (message?.id !== chunk.messageId) this.messages.push((message = { id: chunk.messageId, role: "assistant", parts: [] }));
      return;
    }
    if (!message || message.role !== "assistant") return;
    const parts = message.parts;
    const tool = parts.findLast((p) => p.toolCallId && p.toolCallId === chunk.toolCallId);
    if (chunk.type === "text-start") parts.push({ type: "text", text: "" });
    else if (chunk.type === "text-delta") parts.findLast((p) => p.type === "text").text += chunk.delta;
    else if (chunk.type === "tool-input-start") parts.push({ type: `tool-${chunk.toolName}`, toolCallId: chunk.toolCallId, state: "input-streaming" });
    else if (chunk.type === "tool-input-available" && tool) Object.assign(tool, { state: "input-available", input: chunk.input });
    else if (chunk.type === "tool-approval-request" && tool) tool.state = "approval-requested";
    else if (chunk.type === "tool-output-available" && tool) Object.assign(tool, { state: "output-available", output: chunk.output });
    else if (chunk.type === "tool-output-denied" && tool) tool.state = "output-denied";
    else if (chunk.type === "abort") parts.push({ type: "text", text: " [stopped]" });
  }

  render() {
    this.list.replaceChildren(...this.messages.map((message) => {
      const item = el("li", { className: `chat-${message.role}` });
      item.dataset.role = message.role;
      for (const part of message.parts) {
        if (part.type === "text") item.append(el("span", { className: "chat-text" }, part.text));
        else if (part.type?.startsWith("tool-")) item.append(this.toolView(part));
      }
      return item;
    }));
  }

  toolView(part) {
    const view = el("div", { className: "chat-tool" }, `${part.type.slice(5)}(${JSON.stringify(part.input ?? {})}) · ${part.state}`);
    view.dataset.state = part.state;
    if (part.state === "approval-requested") {
      for (const [label, approved] of [["Approve", true], ["Deny", false]]) {
        const button = el("button", { className: approved ? "" : "secondary", onclick: () => this.decide(part.toolCallId, approved) }, label);
        button.dataset.action = approved ? "approve-tool" : "deny-tool";
        view.append(button);
      }
    }
    return view;
  }
}
