// Shared code of the demo pages: calls to the HTTP API, the WebSocket with a connect ticket,
// and a log that shows every request, answer and pushed event. No framework, no build step.
//
// Credentials live in memory only (never in localStorage or a URL): reloading the page
// starts over, as a real widget that keeps its session elsewhere would.

let configPromise;

/** Where the gateway serves the APIs (the WebSocket API is on another port). */
export function devConfig() {
  configPromise ??= fetch("/_dev/config").then((r) => r.json());
  return configPromise;
}

/**
 * Calls the HTTP API. Answers {status, body}; never throws for an HTTP error, so the page
 * can show API Gateway's and the API's own error answers as they are.
 */
export async function api(method, path, { token, body, idempotent } = {}) {
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotent) headers["Idempotency-Key"] = crypto.randomUUID();
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: resp.status, body: parsed };
}

/** Mints a dev agent token (local gateway only). */
export async function devToken(agentId) {
  const r = await api("POST", "/_dev/token", { body: { agentId } });
  if (r.status !== 200) throw new Error(`dev token: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/**
 * Opens the WebSocket: POST /connect-ticket with the caller's credential, then
 * ws://…?ticket=… (the long-lived token never appears in a URL). onMessage gets each parsed
 * push; onStatus gets "connecting", "open", "closed (code)".
 */
export async function connectSocket(token, onMessage, onStatus) {
  onStatus("connecting");
  const t = await api("POST", "/connect-ticket", { token });
  if (t.status !== 201) {
    onStatus(`refused: POST /connect-ticket ${t.status}`);
    return null;
  }
  const { webSocketUrl } = await devConfig();
  const ws = new WebSocket(webSocketUrl + "?ticket=" + encodeURIComponent(t.body.ticket));
  ws.onopen = () => onStatus("open");
  ws.onclose = (e) => onStatus(`closed (${e.code})`);
  ws.onerror = () => onStatus("error");
  ws.onmessage = (e) => {
    let m = e.data;
    try {
      m = JSON.parse(e.data);
    } catch {
      /* show as text */
    }
    onMessage(m);
  };
  // API Gateway closes idle connections after 10 minutes; a ping now and then keeps it open.
  const keepAlive = setInterval(() => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ action: "ping" }));
  }, 5 * 60 * 1000);
  ws.addEventListener("close", () => clearInterval(keepAlive));
  return ws;
}

/** A scrolling log of requests, answers and events. */
export class Log {
  constructor(el) {
    this.el = el;
  }

  line(kind, title, detail) {
    const row = document.createElement("div");
    row.className = "entry " + kind;
    const time = new Date().toLocaleTimeString();
    const head = document.createElement("div");
    head.className = "head";
    head.textContent = `${time}  ${title}`;
    row.append(head);
    if (detail !== undefined && detail !== null && detail !== "") {
      const pre = document.createElement("pre");
      pre.textContent = typeof detail === "string" ? detail : JSON.stringify(detail, null, 2);
      row.append(pre);
    }
    this.el.prepend(row);
  }

  /** Logs a request's answer; returns the answer for chaining. */
  answer(method, path, r) {
    const kind = r.status >= 400 ? "error" : "ok";
    this.line(kind, `${method} ${path} → ${r.status}`, r.body);
    return r;
  }

  push(m) {
    const title = typeof m === "object" && m ? `⚡ ${m.type}` : "⚡ message";
    this.line("push", title, m);
  }
}

/**
 * What every participant can do with one conversation, whoever they are: read it, read its
 * history from where they left off, post, leave, and watch pushes on the WebSocket.
 */
export class Participant {
  constructor(root, log) {
    this.root = root;
    this.log = log;
    this.token = "";
    this.conversationId = "";
    this.after = "";
    this.ws = null;
  }

  async call(method, path, opts = {}) {
    return this.log.answer(method, path, await api(method, path, { token: this.token, ...opts }));
  }

  need() {
    if (!this.conversationId) {
      this.log.line("error", "No conversation yet: start one or enter its id.");
      return false;
    }
    return true;
  }

  path(suffix = "") {
    return `/conversations/${encodeURIComponent(this.conversationId)}${suffix}`;
  }

  get() {
    if (this.need()) this.call("GET", this.path());
  }

  async history() {
    if (!this.need()) return;
    const q = this.after ? `?after=${encodeURIComponent(this.after)}` : "";
    const r = await this.call("GET", this.path("/events" + q));
    // Catch up from where the last page ended: history is the truth, pushes a convenience.
    if (r.status === 200 && r.body && r.body.next) this.after = r.body.next;
  }

  send(text) {
    if (this.need() && text) this.call("POST", this.path("/messages"), { body: { text }, idempotent: true });
  }

  leave() {
    if (this.need()) this.call("POST", this.path("/leave"), { idempotent: true });
  }

  async connect(statusEl) {
    if (this.ws) this.ws.close();
    if (!this.token) {
      this.log.line("error", "Sign in or start a conversation first: the ticket needs a credential.");
      return;
    }
    this.ws = await connectSocket(
      this.token,
      (m) => this.log.push(m),
      (s) => {
        statusEl.textContent = s;
        this.log.line("info", "WebSocket " + s);
      },
    );
  }
}

/** Small DOM helpers. */
export const $ = (root, sel) => root.querySelector(sel);
export const val = (root, sel) => $(root, sel).value.trim();
