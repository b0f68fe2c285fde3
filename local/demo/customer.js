// The customer's side: the chat widget (widget.html: start a conversation) and the join page
// (join.html: a PIN). Both also take an emailed link, whose token is in the fragment
// (#join=…): never sent to a server, dropped from the address bar at once, and redeemed only
// when the customer presses the button, so a mail scanner that opens the link uses nothing.
//
// The session lives in sessionStorage (never in a URL): a reload keeps the customer in the
// conversation; closing the tab ends it on this device.

import { $, ApiError, Socket, advance, api, enterSends, eventsSince, keyOf, renderEvent } from "./lib.js";

const KEY = "customer.session";
const mode = document.body.dataset.mode; // "start" (widget) or "pin" (join page)
const state = { session: null, socket: null, cursor: "", seen: new Set() };

const saveSession = (s) => (s ? sessionStorage.setItem(KEY, JSON.stringify(s)) : sessionStorage.removeItem(KEY));
const loadSession = () => JSON.parse(sessionStorage.getItem(KEY) || "null");

function showError(e) {
  const el = $("#error");
  el.textContent = e instanceof ApiError || e instanceof Error ? e.message : String(e);
  el.hidden = false;
}

const act = (fn) => async (ev) => {
  if (ev && ev.preventDefault) ev.preventDefault();
  $("#error").hidden = true;
  const button = ev && ev.submitter;
  if (button) button.disabled = true;
  try {
    await fn(ev);
  } catch (e) {
    showError(e);
  } finally {
    if (button) button.disabled = false;
  }
};

function only(id) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== id;
}

// --- getting in ---------------------------------------------------------------------------------

const startForm = $("#start-form");
if (startForm)
  startForm.onsubmit = act(async () => {
    const displayName = $("#start-name").value.trim();
    const body = { topic: $("#start-topic").value.trim(), pageUrl: location.origin + location.pathname };
    if (displayName) body.displayName = displayName;
    const r = await api("POST", "/conversations", { body, idempotent: true });
    await enter({ token: r.sessionToken, conversationId: r.conversationId, participantId: r.participantId });
  });

const pinForm = $("#pin-form");
if (pinForm)
  pinForm.onsubmit = act(async () => {
    const pin = $("#pin-code").value.replace(/\D+/g, "");
    if (!pin) throw new Error("Type the PIN the agent gave you.");
    const body = { pin };
    const name = $("#pin-name").value.trim();
    if (name) body.displayName = name;
    const r = await api("POST", "/join/pin", { body });
    await enter({ token: r.sessionToken, conversationId: r.conversationId, participantId: r.participantId, waiting: r.state === "waiting" });
  });

// The emailed link: read the token once and drop it from the address bar and history.
const joinToken = new URLSearchParams(location.hash.slice(1)).get("join") || "";
if (joinToken) history.replaceState(null, "", location.pathname + location.search);

$("#confirm-form").onsubmit = act(async (ev) => {
  // Only a person's press redeems the link (a script's submit has no trusted event).
  if (ev && ev.isTrusted === false) return;
  const body = { token: joinToken };
  const name = $("#confirm-name").value.trim();
  if (name) body.displayName = name;
  const r = await api("POST", "/join/token", { body });
  await enter({ token: r.sessionToken, conversationId: r.conversationId, participantId: r.participantId, waiting: r.state === "waiting" });
});

async function enter(session) {
  state.session = session;
  saveSession(session);
  state.cursor = "";
  state.seen = new Set();
  $("#timeline").replaceChildren();
  only("chat");
  state.socket = new Socket(session.token, {
    onPush,
    onState: (s, err) => {
      $("#socket-state").textContent = s === "live" ? "connected" : s;
      $("#socket-state").dataset.state = s;
      // No ticket for this session any more: it ended while the socket was away — for an
      // invitee in the lobby, refused before the push could reach them.
      if (err && err.status === 401 && state.session)
        over(state.session.waiting ? "You were not let into the conversation." : "Your session for this conversation has ended.");
    },
    onOpen: () => (state.session && state.session.waiting ? null : catchUp().catch(showError)),
  });
  state.socket.open();
  // An invitee waiting to be let in reads nothing until then: the socket tells them the answer.
  showWaiting(!!session.waiting);
  if (session.waiting) return;
  await Promise.all([loadConversation(), catchUp()]);
  $("#message").focus();
}

/** The lobby (SPEC §9.3): while waiting, only the wait is shown. */
function showWaiting(on) {
  $("#lobby-wait").hidden = !on;
  $("#composer").hidden = on;
  $("#leave").hidden = on;
  if (on) $("#chat-people").textContent = "";
}

async function admitted() {
  const s = state.session;
  s.waiting = false;
  saveSession(s);
  showWaiting(false);
  await Promise.all([loadConversation(), catchUp()]);
  $("#message").focus();
}

// --- in the conversation -------------------------------------------------------------------------

async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e.code === "waiting_for_admission") {
      // Still in the lobby (a reload while waiting): wait for the answer on the socket.
      state.session.waiting = true;
      saveSession(state.session);
      showWaiting(true);
      return null;
    }
    if (e.status === 401 || e.status === 403 || e.status === 404) {
      over("Your session for this conversation has ended.");
      return null;
    }
    throw e;
  }
}

async function loadConversation() {
  const s = state.session;
  const conv = await guarded(() => api("GET", `/conversations/${encodeURIComponent(s.conversationId)}`, { token: s.token }));
  if (!conv) return;
  $("#chat-title").textContent = conv.topic || "Conversation";
  const others = (conv.participants || []).filter((p) => p.participantId !== s.participantId);
  const agents = others.filter((p) => p.kind === "agent").map((p) => p.displayName);
  $("#chat-people").textContent = agents.length ? `With ${agents.join(", ")}` : "Waiting for an agent…";
  if (conv.status === "ended") over("The agent ended the conversation.");
}

/** Reads history from where this page left off (history is the truth, pushes a convenience). */
async function catchUp() {
  const s = state.session;
  if (!s) return;
  const page = await guarded(() => eventsSince(s.conversationId, s.token, state.cursor));
  if (!page) return;
  for (const e of page.events) show(e);
  if (page.after) state.cursor = page.after;
}

function show(e) {
  const key = keyOf(e);
  if (key && state.seen.has(key)) return;
  if (key) state.seen.add(key);
  const list = $("#timeline");
  renderEvent(list, e, { myParticipantId: state.session.participantId });
  list.scrollTop = list.scrollHeight;
}

function onPush(m) {
  const s = state.session;
  if (!s || m.conversationId !== s.conversationId) return;
  const aboutMe = m.data && m.data.participantId === s.participantId;
  if (m.type === "participant.refused" && aboutMe) {
    over(m.data.reason === "timeout" ? "Nobody let you in in time." : "You were not let into the conversation.");
    return;
  }
  if (m.type === "participant.admitted" && aboutMe) {
    admitted().catch(showError);
    return;
  }
  show(m);
  state.cursor = advance(state.cursor, m);
  if (m.type.startsWith("participant.") || m.type === "conversation.assigned") loadConversation().catch(showError);
  if (m.type === "conversation.ended") over("The agent ended the conversation.");
  if (m.type === "participant.left" && m.data && m.data.participantId === s.participantId) over("You left the conversation.");
}

$("#composer").onsubmit = act(async () => {
  const s = state.session;
  const text = $("#message").value.trim();
  if (!text) return;
  const e = await guarded(() =>
    api("POST", `/conversations/${encodeURIComponent(s.conversationId)}/messages`, { token: s.token, body: { text }, idempotent: true }),
  );
  $("#message").value = "";
  if (e && e.seq) show(e);
});
enterSends($("#message"), $("#composer"));

$("#leave").onclick = act(async () => {
  const s = state.session;
  await api("POST", `/conversations/${encodeURIComponent(s.conversationId)}/leave`, { token: s.token, body: {}, idempotent: true });
  over("You left the conversation.");
});

function over(why) {
  if (state.socket) state.socket.close();
  state.socket = null;
  state.session = null;
  saveSession(null);
  $("#over-why").textContent = why;
  $("#lobby-wait").hidden = true;
  // Keep what was said on screen; only the means to say more go away.
  const said = $("#timeline").children.length > 0;
  only(said ? "chat" : "over");
  $("#over").hidden = false;
  $("#composer").hidden = true;
  $("#leave").hidden = true;
  $("#socket-state").hidden = true;
  $("#over").focus();
}

// --- start ---------------------------------------------------------------------------------------

const saved = loadSession();
if (joinToken) {
  only("confirm");
  $("#confirm-name").focus();
} else if (saved) {
  enter(saved).catch(showError);
} else {
  only(mode === "pin" ? "pin" : "start");
}
