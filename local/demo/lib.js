// Shared code of the desk and the customer pages: HTTP calls, the WebSocket with a connect
// ticket (reconnecting, catching up from history), and events told in words. No framework,
// no build step.

let configPromise;

/** Where the gateway serves the APIs (the WebSocket API is on another port). */
export function devConfig() {
  configPromise ??= fetch("/_dev/config").then((r) => r.json());
  return configPromise;
}

/** An API refusal, with the API's own code and its message in words. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** How often a 503 (busy: nothing was done) is sent again after its Retry-After. */
export const BUSY_RETRIES = 3;

/**
 * Calls the HTTP API and answers the parsed body; a refusal throws an ApiError whose message
 * can be shown to a person as it is. A 503 is the API saying it did nothing because too much
 * was happening at once: the same request, with the same Idempotency-Key, is sent again after
 * the Retry-After it names, up to BUSY_RETRIES times, so a person never sees a passing rush.
 */
export async function api(method, path, { token, body, idempotent } = {}) {
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotent) headers["Idempotency-Key"] = crypto.randomUUID();
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  let resp = await send(path, init);
  for (let retry = 0; resp.status === 503 && retry < BUSY_RETRIES; retry++) {
    await new Promise((done) => setTimeout(done, retryAfterMs(resp)));
    resp = await send(path, init);
  }
  const text = await resp.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (resp.ok) return parsed;
  const err = parsed && parsed.error;
  if (err && err.message) throw new ApiError(resp.status, err.code || "", err.message);
  const gw = parsed && parsed.message;
  if (resp.status === 401) throw new ApiError(401, "unauthorized", "Your session has ended. Sign in or join again.");
  if (resp.status === 429) throw new ApiError(429, "rate_limited", "Too many attempts. Wait a minute and try again.");
  throw new ApiError(resp.status, "", gw || `The server answered ${resp.status}.`);
}

async function send(path, init) {
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Is `make dev` still running?");
  }
}

/** The pause a 503 asks for: its Retry-After in seconds, one second when it names none. */
function retryAfterMs(resp) {
  const secs = Number.parseInt(resp.headers.get("Retry-After") || "", 10);
  return (Number.isFinite(secs) && secs > 0 ? Math.min(secs, 30) : 1) * 1000;
}

/**
 * The history cursor: the `seq` of the last event read. `GET …/events?after=<seq>` answers the
 * later events this reader may see, and `next` names the cursor of the following page.
 */
export async function eventsSince(conversationId, token, after) {
  const events = [];
  let cursor = Number(after) || 0;
  for (let page = 0; page < 50; page++) {
    const q = new URLSearchParams({ limit: "100" });
    if (cursor) q.set("after", String(cursor));
    const r = await api("GET", `/conversations/${encodeURIComponent(conversationId)}/events?${q}`, { token });
    const got = (r && r.events) || [];
    events.push(...got);
    if (got.length) cursor = got[got.length - 1].seq;
    if (!(r && r.next) || !got.length) break;
    cursor = r.next;
  }
  return { events, after: cursor };
}

/** The cursor a single event moves history to: its seq (0 for a push-only event). */
export const cursorOf = (event) => Number(event.seq) || 0;

/** What tells two copies of one event apart (history and its push): its seq, if it has one. */
export const keyOf = (event) => (event.seq ? String(event.seq) : "");

/**
 * The cursor after a push. A push may follow a lost one, so it moves the cursor only when it
 * provably follows it — its prevSeq, the previous event this reader may see, is the cursor;
 * otherwise the next catch-up reads from the old cursor again and shows only what is new.
 */
export function advance(cursor, push) {
  if (push.seq && Number(push.prevSeq) === Number(cursor)) return Number(push.seq);
  return cursor;
}

/** Whether cursor a comes after cursor b. */
export const isAfter = (a, b) => Number(a) > Number(b);

/**
 * A WebSocket that stays open: a connect ticket for each attempt (the long-lived token never
 * appears in a URL), reconnecting with backoff. onOpen runs after every (re)connection, which
 * is where a page catches up from history: pushes are a convenience, history is the truth.
 */
export class Socket {
  constructor(token, { onPush, onState, onOpen }) {
    this.token = token;
    this.onPush = onPush;
    this.onState = onState;
    this.onOpen = onOpen;
    this.ws = null;
    this.closed = false;
    this.attempt = 0;
    this.timer = null;
  }

  async open() {
    if (this.closed) return;
    this.onState("connecting");
    let ticket;
    try {
      ticket = await api("POST", "/connect-ticket", { token: this.token });
    } catch (e) {
      this.onState("offline", e);
      if (e.status === 401 || e.status === 403) return; // the credential is gone: no retry
      return this.retry();
    }
    const { webSocketUrl } = await devConfig();
    const ws = new WebSocket(webSocketUrl + "?ticket=" + encodeURIComponent(ticket.ticket));
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.onState("live");
      this.onOpen && this.onOpen();
    };
    ws.onmessage = (e) => {
      let m;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      if (m && m.type && m.type !== "pong") this.onPush(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onState("offline");
      this.retry();
    };
    // API Gateway closes idle connections after 10 minutes; a ping now and then keeps it open.
    const keepAlive = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ action: "ping" }));
    }, 5 * 60 * 1000);
    ws.addEventListener("close", () => clearInterval(keepAlive));
  }

  retry() {
    if (this.closed) return;
    const delay = Math.min(10000, 500 * 2 ** this.attempt++);
    this.timer = setTimeout(() => this.open(), delay);
  }

  /** Drops the connection as a network would; the socket reconnects and catches up. */
  drop() {
    if (this.ws) this.ws.close();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
  }
}

/** Names of agents and teams, for events that carry only ids. */
export const names = { agents: new Map(), teams: new Map(), participants: new Map() };

const agentName = (id) => names.agents.get(id) || id;
const teamName = (id) => names.teams.get(id) || id;
// An actor is a participant id ("agent_ada", "vis_…") or an agent id.
const actorName = (id) => {
  if (!id) return "";
  if (names.participants.has(id)) return names.participants.get(id);
  if (id.startsWith("agent_")) return agentName(id.slice(6));
  return id.startsWith("vis_") ? "" : agentName(id);
};
const quote = (s) => (s ? ` — “${s}”` : "");

/** Who an invitation is for, in words. */
export function targetOf(d) {
  if (d.targetAgentId) return agentName(d.targetAgentId);
  if (d.targetTeamId) return "team " + teamName(d.targetTeamId);
  if (d.email) return d.name ? `${d.name} <${d.email}>` : d.email;
  return "";
}

// chainWords is a fallback chain's answers in a few words: "Grace declined, Team Billing pending".
function chainWords(targets = []) {
  return targets
    .map((t) => `${t.kind === "team" ? "team " + teamName(t.id) : agentName(t.id)} ${t.answer}${t.reason === "unavailable" ? " (away)" : ""}`)
    .join(", ");
}

export function timeOf(at) {
  const d = new Date(at);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/**
 * One history event or push in words, for the timeline. Messages are rendered as messages by
 * the caller; everything else is a sentence. me is the viewer's agent id (or "").
 */
export function describe(e, me = "") {
  const d = e.data || {};
  const by = d.createdBy ? agentName(d.createdBy) : "";
  switch (e.type) {
    case "conversation.started":
      return d.topic ? `Conversation started: “${d.topic}”` : "Conversation started";
    case "conversation.ended":
      return actorName(e.actorId) ? `${actorName(e.actorId)} ended the conversation` : "The conversation has ended";
    case "conversation.assigned":
      return `${d.displayName || agentName(d.agentId)} is now handling this conversation`;
    case "conversation.unassigned":
      return "No agent is handling this conversation right now";
    case "conversation.forwarded":
      // A visitor's new conversation is offered to a team exactly like a forward.
      if (!e.actorId) return `Waiting for an agent from ${d.to || "the team"}`;
      return `The conversation is being handed over to ${d.to || "another agent"}`;
    case "participant.joined":
      return `${d.displayName || "Someone"} joined`;
    case "participant.left":
      return `${d.displayName || "Someone"} left`;
    case "invitation.created":
      switch (d.kind) {
        case "pin":
          return `${by} created a PIN invitation, valid until ${timeOf(d.expiresAt)}`;
        case "email":
          return `${by} invited ${targetOf(d)} by email${quote(d.note)}`;
        case "forward":
          if (d.purpose === "incoming") return `Offered to ${targetOf(d)}`;
          return `${by} forwarded the conversation to ${targetOf(d)}${quote(d.message)}`;
        default:
          // A fallback chain offering it to a later target: the invitation went on.
          if ((d.targets || []).length > 1 && d.targets[0].answer !== "pending") {
            return `${by ? by + "’s" : "The"} invitation went on to ${d.targetAgentId && d.targetAgentId === me ? "you" : targetOf(d)}${quote(d.message)}`;
          }
          return `${by} invited ${d.targetAgentId && d.targetAgentId === me ? "you" : targetOf(d)}${quote(d.message)}`;
      }
    case "invitation.accepted": {
      const who = agentName(d.acceptedBy);
      if (d.kind === "forward") {
        if (d.createdBy && d.createdBy === me) return `Your forward was accepted by ${who} — you left this conversation`;
        if (d.purpose === "incoming") return `${who} took the conversation`;
        return `${who} accepted the forward from ${by}`;
      }
      return `${who} accepted ${by ? by + "’s" : "the"} invitation`;
    }
    case "invitation.declined":
      return `${agentName(d.declinedBy) || targetOf(d)} declined ${d.kind === "forward" ? "the forward" : "the invitation"}${d.reason ? ` (“${d.reason}”)` : ""}`;
    case "invitation.redeemed":
      return `${d.name || names.participants.get(d.participantId) || "A customer"} joined with ${d.kind === "pin" ? "the PIN" : "the email link"}`;
    case "invitation.revoked":
      return d.reason === "conversation_ended"
        ? `The ${kindWord(d.kind)}${targetOf(d) ? " for " + targetOf(d) : ""} was withdrawn: the conversation ended`
        : `${actorName(e.actorId) || "An agent"} revoked the ${kindWord(d.kind)}${targetOf(d) ? " for " + targetOf(d) : ""}`;
    case "invitation.expired":
      return `The ${kindWord(d.kind)}${targetOf(d) ? " for " + targetOf(d) : ""} expired unanswered`;
    case "invitation.taken":
      if (d.reason === "timeout") return `The offer for ${targetOf(d) || "this conversation"} went on to the next target: no answer in time`;
      if (d.reason === "revoked") return `The offer for ${targetOf(d) || "this conversation"} was withdrawn`;
      if (d.kind === "forward" && d.createdBy && d.createdBy === me) return `Your forward was accepted by ${agentName(d.acceptedBy)} — you left this conversation`;
      return `The offer for ${targetOf(d) || "this conversation"} was taken by ${d.acceptedBy ? agentName(d.acceptedBy) : "someone else"}`;
    case "invitation.failed":
      return `The email to ${targetOf(d)} could not be sent${d.reason || d.detail ? ` (${d.reason || d.detail})` : ""}`;
    case "invitation.resent":
      return `${by || "An agent"} sent the email to ${targetOf(d)} again`;
    case "invitation.delivery":
      return `Email to ${targetOf(d) || "the customer"}: ${d.delivery}${d.detail ? ` (${d.detail})` : ""}`;
    case "invitation.updated": {
      const open = (d.targets || []).find((t) => t.answer === "pending");
      if (!open) return `The ${kindWord(d.kind)} has its answers: ${chainWords(d.targets)}`;
      return `The ${kindWord(d.kind)} is now offered to ${targetOf(d)} (${chainWords(d.targets)})`;
    }
    case "participant.waiting":
      return `${d.displayName || "Someone"} is waiting to be let in`;
    case "participant.admitted":
      return `${d.displayName || "Someone"} was let in`;
    case "participant.refused":
      return `${d.displayName || "Someone"} was not let in`;
    default:
      return e.type.replace(".", " ");
  }
}

function kindWord(kind) {
  return { pin: "PIN invitation", email: "email invitation", agent: "agent invitation", team: "team invitation", forward: "forward" }[kind] || "invitation";
}

/**
 * Renders one event into a timeline list. Agent-only events are marked so an agent knows the
 * customer does not see them. Answers the new element.
 */
export function renderEvent(list, e, { me = "", myParticipantId = "" } = {}) {
  const li = document.createElement("li");
  li.dataset.seq = keyOf(e);
  li.dataset.cursor = cursorOf(e) || "";
  li.dataset.type = e.type;
  if (e.type === "participant.joined" && e.data) names.participants.set(e.data.participantId, e.data.displayName);
  if (e.type === "message.created") {
    const d = e.data || {};
    const mine = e.actorId && e.actorId === myParticipantId;
    li.className = "msg " + (mine ? "mine" : "theirs") + (d.kind === "agent" ? " from-agent" : " from-customer");
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = `${mine ? "You" : d.displayName || "Someone"} · ${timeOf(e.at)}`;
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = d.text || "";
    li.append(who, text);
  } else {
    li.className = "sys";
    const text = document.createElement("span");
    text.textContent = describe(e, me);
    const time = document.createElement("time");
    time.textContent = timeOf(e.at);
    li.append(text, " ", time);
    // History says who sees an event; a push does not (today), and every invitation event is
    // for agents only, so a push of one is marked the same way.
    // Pushes carry no audience: tell it from the type (the lobby's waits for agents say so).
    const lobbyForAgents = (e.type === "participant.waiting" || e.type === "participant.refused") && e.data && e.data.admit === "agent";
    const agentsOnly = e.audience ? e.audience === "agents" : e.type.startsWith("invitation.") || lobbyForAgents;
    if (agentsOnly) {
      li.classList.add("agents-only");
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "agents only";
      tag.title = "Customers do not see this";
      li.prepend(tag, " ");
    }
  }
  // History read after a reconnect can hold events older than a push already shown: keep the
  // timeline in history's order.
  const key = cursorOf(e);
  let next = null;
  if (key) {
    for (let el = list.lastElementChild; el && el.dataset.cursor && isAfter(el.dataset.cursor, key); el = el.previousElementSibling) next = el;
  }
  list.insertBefore(li, next);
  return li;
}

/** The element a selector names inside root (document by default). */
export const $ = (sel, root = document) => root.querySelector(sel);

/** Enter sends the form, Shift+Enter is a new line; every other key types as usual. */
export function enterSends(box, form) {
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
}
