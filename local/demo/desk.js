// The agent desk: sign in as a demo agent, take offers from the inbox, talk, invite customers
// (PIN, email) and agents or teams, forward, end and leave. Every push of SPEC §6 is told in
// words; history is the truth, so the selected conversation catches up from it whenever the
// socket (re)connects.

import { $, ApiError, Socket, api, describe, enterSends, eventsSince, advance, keyOf, names, renderEvent, targetOf, timeOf } from "./lib.js";

const state = {
  token: "",
  agentId: "",
  myTeams: new Set(),
  socket: null,
  conversations: new Map(), // id → {id, topic, status, gone, unread}
  selected: "",
  cursor: "",
  seen: new Set(),
  pin: null, // {invitationId, pin, expiresAt, conversationId}
  directory: { agents: [], teams: [] },
};

const store = {
  get session() {
    return JSON.parse(sessionStorage.getItem("desk.session") || "null");
  },
  set session(v) {
    if (v) sessionStorage.setItem("desk.session", JSON.stringify(v));
    else sessionStorage.removeItem("desk.session");
  },
  saveConversations() {
    const list = [...state.conversations.values()];
    sessionStorage.setItem("desk.conversations." + state.agentId, JSON.stringify(list));
  },
  loadConversations() {
    const list = JSON.parse(sessionStorage.getItem("desk.conversations." + state.agentId) || "[]");
    state.conversations = new Map(list.map((c) => [c.id, c]));
  },
};

const call = (method, path, opts = {}) => api(method, path, { token: state.token, ...opts });
const convPath = (id, suffix = "") => `/conversations/${encodeURIComponent(id)}${suffix}`;

// --- words on screen -------------------------------------------------------------------------

function notice(text) {
  const box = $("#notices");
  box.querySelector(".hint")?.remove();
  const p = document.createElement("p");
  p.className = "fresh";
  const time = document.createElement("time");
  time.textContent = timeOf(new Date()) + " ";
  p.append(time, text);
  box.prepend(p);
  setTimeout(() => p.classList.remove("fresh"), 5000);
  while (box.children.length > 6) box.lastChild.remove();
}

function showError(e) {
  const el = $("#error");
  el.textContent = e instanceof ApiError || e instanceof Error ? e.message : String(e);
  el.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => (el.hidden = true), 10000);
}

/** Runs an action from a click, turning any refusal into words on screen. */
const act = (fn) => async (ev) => {
  if (ev && ev.preventDefault) ev.preventDefault();
  $("#error").hidden = true;
  // One press, one request: the button waits for the answer.
  const button = ev && (ev.submitter || (ev.currentTarget instanceof HTMLButtonElement ? ev.currentTarget : null));
  if (button) button.disabled = true;
  try {
    await fn(ev);
  } catch (e) {
    if (e.status === 401 && state.token) return signedOut("Your sign-in has expired. Sign in again.");
    showError(e);
  } finally {
    if (button && button.isConnected) button.disabled = false;
  }
};

// --- sign in ---------------------------------------------------------------------------------

async function signIn(agentId, token) {
  state.agentId = agentId;
  state.token = token;
  store.session = { agentId, token };
  store.loadConversations();
  await loadDirectory();
  $("#sign-in").hidden = true;
  $("#workspace").hidden = false;
  $("#sign-out").hidden = false;
  $("#me").hidden = false;
  $("#socket-state").hidden = false;
  $("#me").textContent = "Signed in as " + (names.agents.get(agentId) || agentId);
  renderConversations();
  state.socket = new Socket(token, {
    onPush,
    onState: (s) => {
      const el = $("#socket-state");
      el.textContent = s;
      el.dataset.state = s;
    },
    onOpen: () => {
      refreshInbox();
      loadDirectory().then(renderTargets, () => {});
      if (state.selected) catchUp().catch(showError);
    },
  });
  state.socket.open();
  // Availability changes and offers run out without a push reaching everyone at once: look again now and then.
  setInterval(() => {
    loadDirectory().then(renderTargets, () => {});
    refreshInbox();
  }, 30000);
  window.desk = { dropSocket: () => state.socket.drop() }; // lets the browser test cut the line
  const first = [...state.conversations.values()].find((c) => !c.gone);
  if (first) await select(first.id);
}

$("#sign-in-form").onsubmit = act(async () => {
  const agentId = $("#agent-id").value;
  const r = await api("POST", "/_dev/token", { body: { agentId } });
  await signIn(agentId, r.token);
});

$("#sign-out").onclick = () => signedOut("");

function signedOut(why) {
  if (state.socket) state.socket.close();
  store.session = null;
  if (why) sessionStorage.setItem("desk.why", why);
  location.reload();
}

async function loadDirectory() {
  const [a, t] = await Promise.all([call("GET", "/agents?limit=100"), call("GET", "/teams?limit=100")]);
  state.directory = { agents: a.agents || [], teams: t.teams || [] };
  for (const x of state.directory.agents) names.agents.set(x.agentId, x.name);
  for (const x of state.directory.teams) names.teams.set(x.teamId, x.name);
  state.myTeams = new Set(state.directory.teams.filter((x) => (x.members || []).includes(state.agentId)).map((x) => x.teamId));
}

// --- inbox -----------------------------------------------------------------------------------

let inboxTimer;
function refreshInbox() {
  clearTimeout(inboxTimer);
  inboxTimer = setTimeout(() => loadInbox().catch(showError), 50);
}

async function loadInbox() {
  const r = await call("GET", "/inbox?limit=100");
  const items = r.invitations || [];
  const list = $("#inbox");
  list.replaceChildren(...items.map(offerItem));
  $("#inbox-empty").hidden = items.length > 0;
  $("#inbox-count").textContent = items.length ? `(${items.length})` : "";
}

function offerItem(o) {
  const li = document.createElement("li");
  li.className = "offer";
  li.dataset.invitationId = o.invitationId;
  const from = o.invitedBy ? o.invitedBy.name || o.invitedBy.agentId : "";
  const to = o.to ? (o.to.kind === "team" ? `team ${o.to.name || o.to.id}` : "you") : "you";
  let headline;
  if (o.purpose === "incoming") headline = `New customer conversation for ${to}`;
  else if (o.kind === "forward") headline = `${from} forwards a conversation to ${to}`;
  else headline = `${from} invites ${to} to join`;
  const h = document.createElement("h3");
  h.textContent = headline;
  li.append(h);
  const ctx = o.context || {};
  const facts = [
    ["Topic", ctx.topic || o.topic],
    ["Customer", ctx.customerName],
    ["Page", ctx.pageUrl],
    ["Waiting", ctx.waitingSince && waitingFor(ctx.waitingSince)],
    ["Message", ctx.message || o.message],
    ["Offered at", timeOf(o.createdAt)],
    ["Answer by", o.expiresAt && timeOf(o.expiresAt)],
  ];
  const dl = document.createElement("dl");
  for (const [k, v] of facts) {
    if (!v) continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  li.append(dl);
  if (ctx.recentMessages && ctx.recentMessages.length) {
    const caption = document.createElement("p");
    caption.className = "recent-caption";
    caption.textContent = "Last messages the customer saw";
    li.append(caption);
    const ol = document.createElement("ol");
    ol.className = "recent";
    for (const m of ctx.recentMessages) {
      const item = document.createElement("li");
      item.textContent = `${m.author}: ${m.text}`;
      item.title = timeOf(m.at);
      ol.append(item);
    }
    li.append(ol);
  }
  const row = document.createElement("div");
  row.className = "row";
  const accept = document.createElement("button");
  accept.textContent = "Accept";
  accept.className = "accept";
  accept.onclick = act(async () => {
    const r = await call("POST", `/invitations/${encodeURIComponent(o.invitationId)}/accept`, { body: {}, idempotent: true });
    addConversation({ id: r.conversationId, topic: o.topic || ctx.topic || "" });
    notice(r.assigned ? `You now handle “${o.topic || "the conversation"}”` : `You joined “${o.topic || "the conversation"}”`);
    await loadInbox();
    await select(r.conversationId);
  });
  const decline = document.createElement("button");
  decline.textContent = "Decline";
  decline.className = "secondary decline";
  decline.onclick = act(async () => {
    await call("POST", `/invitations/${encodeURIComponent(o.invitationId)}/decline`, { body: {}, idempotent: true });
    notice("You declined the offer.");
    await loadInbox();
  });
  row.append(accept, decline);
  li.append(row);
  return li;
}

/** How long a customer has waited for an agent, e.g. "4 min (since 10:02)". */
function waitingFor(since) {
  const min = Math.max(0, Math.floor((Date.now() - new Date(since)) / 60000));
  return `${min < 1 ? "under a minute" : `${min} min`} (since ${timeOf(since)})`;
}

// --- my conversations --------------------------------------------------------------------------

function addConversation(c) {
  const old = state.conversations.get(c.id) || {};
  state.conversations.set(c.id, { ...old, ...c, gone: false, unread: 0 });
  store.saveConversations();
  renderConversations();
}

/** Marks a conversation this agent can no longer act in; a later, exact reason replaces a guess. */
function markGone(id, why, exact = false) {
  const c = state.conversations.get(id);
  if (!c || (c.gone && !exact)) return;
  c.gone = why;
  store.saveConversations();
  renderConversations();
  if (id === state.selected) showGone();
}

function renderConversations() {
  const list = $("#conversations");
  const items = [...state.conversations.values()].reverse();
  list.replaceChildren(
    ...items.map((c) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.className = "conv" + (c.id === state.selected ? " selected" : "") + (c.gone ? " gone" : "");
      b.dataset.conversationId = c.id;
      if (c.id === state.selected) b.setAttribute("aria-current", "true");
      const title = document.createElement("span");
      title.textContent = c.topic || "(no topic)";
      const sub = document.createElement("small");
      sub.textContent = c.gone ? c.gone : c.status === "ended" ? "ended" : c.unread ? `${c.unread} new` : "open";
      b.append(title, sub);
      b.onclick = act(() => select(c.id));
      li.append(b);
      return li;
    }),
  );
  $("#convs-empty").hidden = items.length > 0;
}

$("#start-form").onsubmit = act(async () => {
  const topic = $("#start-topic").value.trim() || "Started from the desk";
  const r = await call("POST", "/conversations", { body: { topic }, idempotent: true });
  $("#start-topic").value = "";
  addConversation({ id: r.conversationId, topic });
  await select(r.conversationId);
});

// --- the selected conversation ----------------------------------------------------------------

async function select(id) {
  state.selected = id;
  state.cursor = "";
  state.seen = new Set();
  state.pin = null;
  const c = state.conversations.get(id);
  if (c) c.unread = 0;
  $("#timeline").replaceChildren();
  $("#conversation").hidden = false;
  $("#placeholder").hidden = true;
  $("#pin-box").hidden = true;
  $("#pin-new").textContent = "Get a PIN";
  renderConversations();
  renderTargets();
  loadDirectory().then(renderTargets, () => {}); // availability changes: read it fresh
  if (c && c.gone) {
    showGone();
  } else {
    $("#conv-gone").hidden = true;
    setActive(true);
  }
  await loadConversation();
  await catchUp();
  await loadInvitations();
  if (!$("#composer").hidden) $("#message").focus();
}

function showGone() {
  const c = state.conversations.get(state.selected);
  $("#conv-gone").textContent = c.gone;
  $("#conv-gone").hidden = false;
  setActive(false);
}

/** Shows the tools only while this agent can act in the conversation. */
function setActive(on) {
  for (const sel of ["#composer", "#tools", "#leave", "#end"]) $(sel).hidden = !on;
}

async function loadConversation() {
  const id = state.selected;
  let conv;
  try {
    conv = await call("GET", convPath(id));
  } catch (e) {
    if (e.status === 403 || e.status === 404) return markGone(id, "You are no longer part of this conversation.");
    throw e;
  }
  if (id !== state.selected) return;
  const c = state.conversations.get(id);
  if (c) {
    c.topic = conv.topic || c.topic;
    c.status = conv.status;
    store.saveConversations();
    renderConversations();
  }
  $("#conv-title").textContent = conv.topic || "Conversation";
  const assignee = conv.assigneeId ? names.agents.get(conv.assigneeId) || conv.assigneeId : "nobody";
  $("#conv-meta").textContent = `${conv.status === "ended" ? "Ended" : "Open"} · handled by ${assignee}${conv.pageUrl ? " · page " + conv.pageUrl : ""}`;
  const everyone = conv.participants || [];
  const people = everyone.filter((p) => p.state !== "waiting").map((p) => `${p.displayName || p.participantId}${p.kind === "agent" ? " (agent)" : ""}`);
  $("#conv-people").textContent = "In the conversation: " + (people.join(", ") || "no one");
  renderLobby(id, conv.status === "open" ? everyone.filter((p) => p.state === "waiting") : []);
  if (conv.status === "ended") markGone(id, "This conversation has ended.");
}

/** Invitees waiting to be let in (SPEC §9.3), each with Admit and Refuse. */
function renderLobby(id, waiting) {
  const rows = waiting.map((p) => {
    const li = document.createElement("li");
    li.dataset.participantId = p.participantId;
    const who = document.createElement("span");
    const name = p.displayName || "A customer";
    who.textContent = `${name} is waiting to be let in (until ${new Date(p.waitingUntil).toLocaleTimeString()})`;
    const answer = (verb, label, cls) => {
      const b = document.createElement("button");
      b.textContent = label;
      b.className = cls;
      b.onclick = act(async () => {
        await call("POST", convPath(id, `/participants/${encodeURIComponent(p.participantId)}/${verb}`), { body: {}, idempotent: true });
        notice(verb === "admit" ? `You let ${name} in.` : `You turned ${name} away.`);
        await loadConversation();
      });
      return b;
    };
    li.append(who, answer("admit", "Admit", ""), answer("refuse", "Refuse", "secondary"));
    return li;
  });
  $("#lobby").replaceChildren(...rows);
  $("#lobby").hidden = rows.length === 0;
}

/** Reads history from where this desk left off and renders what it has not shown yet. */
async function catchUp() {
  const id = state.selected;
  const c = state.conversations.get(id);
  if (c && c.gone) return;
  let page;
  try {
    page = await eventsSince(id, state.token, state.cursor);
  } catch (e) {
    if (e.status === 403 || e.status === 404) return markGone(id, "You are no longer part of this conversation.");
    throw e;
  }
  if (id !== state.selected) return;
  const fresh = page.events.filter((e) => !state.seen.has(keyOf(e)));
  for (const e of page.events) show(e);
  if (page.after) state.cursor = page.after;
  // What a missed push would have refreshed.
  if (fresh.some((e) => e.type.startsWith("invitation."))) refreshInvitations();
}

function show(e) {
  const key = keyOf(e);
  if (key && state.seen.has(key)) return;
  if (key) state.seen.add(key);
  const list = $("#timeline");
  renderEvent(list, e, { me: state.agentId, myParticipantId: "agent_" + state.agentId });
  list.scrollTop = list.scrollHeight;
}

$("#composer").onsubmit = act(async () => {
  const box = $("#message");
  const text = box.value.trim();
  if (!text) return;
  const e = await call("POST", convPath(state.selected, "/messages"), { body: { text }, idempotent: true });
  box.value = "";
  if (e && e.seq) show(e);
});
enterSends($("#message"), $("#composer"));

$("#leave").onclick = act(async () => {
  const id = state.selected;
  await call("POST", convPath(id, "/leave"), { body: {}, idempotent: true });
  markGone(id, "You left this conversation.");
  notice("You left the conversation.");
});

$("#end").onclick = act(async () => {
  const id = state.selected;
  await call("POST", convPath(id, "/end"), { body: {}, idempotent: true });
  await loadConversation();
  await catchUp();
});

// --- inviting ----------------------------------------------------------------------------------

function availability(a) {
  if (a.status === "away") return "away";
  if (a.online && a.status === "available") return "online";
  return "offline";
}

function renderTargets() {
  const box = $("#targets");
  const chosen = (box.querySelector("input:checked") || {}).value;
  const rows = [];
  const add = (value, label, avail, detail) => {
    const id = "target-" + value.replace(":", "-");
    const row = document.createElement("div");
    row.className = "target";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "target";
    input.id = id;
    input.value = value;
    input.checked = value === chosen;
    const lab = document.createElement("label");
    lab.htmlFor = id;
    const name = document.createElement("span");
    name.textContent = label;
    const av = document.createElement("span");
    av.className = "avail " + avail;
    av.textContent = detail;
    lab.append(name, av);
    row.append(input, lab);
    rows.push(row);
  };
  for (const t of state.directory.teams) {
    const n = t.online || 0;
    add("team:" + t.teamId, "Team " + t.name, n > 0 ? "online" : "offline", `${n} of ${(t.members || []).length} online`);
  }
  for (const a of state.directory.agents) {
    if (a.agentId === state.agentId) continue;
    const av = availability(a);
    add("agent:" + a.agentId, a.name, av, av);
  }
  box.replaceChildren(...rows);
  renderFallbackPicker();
}

// The fallback picker: up to three further targets, offered in order (SPEC §9.2).
function renderFallbackPicker() {
  for (const sel of document.querySelectorAll(".fallback-target")) {
    const keep = sel.value;
    const none = new Option("nobody", "");
    const opts = [none];
    for (const t of state.directory.teams) opts.push(new Option("Team " + t.name, "team:" + t.teamId));
    for (const a of state.directory.agents) {
      if (a.agentId !== state.agentId) opts.push(new Option(`${a.name} (${availability(a)})`, "agent:" + a.agentId));
    }
    sel.replaceChildren(...opts);
    sel.value = opts.some((o) => o.value === keep) ? keep : "";
  }
}

// routing is the afterSeconds and fallback of an invite or forward, as picked.
function routing() {
  const out = {};
  const after = $("#after-seconds").value.trim();
  if (after) {
    if (!/^\d+$/.test(after)) throw new Error("Their window is a whole number of seconds, 30 to 3600.");
    out.afterSeconds = Number(after);
  }
  const fallback = [...document.querySelectorAll(".fallback-target")]
    .map((sel) => sel.value)
    .filter(Boolean)
    .map((v) => {
      const [kind, id] = v.split(":");
      return { kind, id };
    });
  if (fallback.length) out.fallback = fallback;
  return out;
}

$("#pick-form").onsubmit = act(async (ev) => {
  const action = ev.submitter ? ev.submitter.value : "invite";
  const chosen = $("#targets input:checked");
  if (!chosen) throw new Error("Pick an agent or a team first.");
  const [kind, id] = chosen.value.split(":");
  const message = $("#pick-message").value.trim();
  const who = kind === "team" ? "team " + (names.teams.get(id) || id) : names.agents.get(id) || id;
  if (action === "forward") {
    await call("POST", convPath(state.selected, "/forward"), { body: { to: { kind, id }, message, ...routing() }, idempotent: true });
    notice(`Forward offered to ${who}. You stay in the conversation until they accept.`);
    watchForward(state.selected, kind === "agent" ? who : "");
  } else {
    const body = { ...(kind === "team" ? { teamId: id, message } : { agentId: id, message }), ...routing() };
    await call("POST", convPath(state.selected, "/invitations/" + kind), { body, idempotent: true });
    notice(`Invitation sent to ${who}.`);
  }
  $("#pick-message").value = "";
  $("#after-seconds").value = "";
  for (const sel of document.querySelectorAll(".fallback-target")) sel.value = "";
  await loadInvitations();
});

$("#pin-new").onclick = act(async () => {
  const old = state.pin;
  if (old && !old.used && old.conversationId === state.selected && new Date(old.expiresAt) > new Date()) {
    // Renewing: the old PIN stops working, so only one is ever valid.
    await call("DELETE", convPath(state.selected, "/invitations/" + encodeURIComponent(old.invitationId))).catch(() => {});
  }
  const r = await call("POST", convPath(state.selected, "/invitations/pin"), { body: { admit: $("#admit").value }, idempotent: true });
  state.pin = { ...r, conversationId: state.selected };
  $("#pin").textContent = r.pin.replace(/(\d{3})(?=\d)/g, "$1 ");
  $("#pin-box").hidden = false;
  $("#pin-new").textContent = "Renew PIN";
  tickPin();
  await loadInvitations();
});

setInterval(tickPin, 1000);
function tickPin() {
  const p = state.pin;
  if (!p || p.used || p.conversationId !== state.selected) return;
  const left = Math.round((new Date(p.expiresAt) - new Date()) / 1000);
  const el = $("#pin-countdown");
  if (left <= 0) {
    el.textContent = "This PIN has expired. Renew it for a new one.";
    $("#pin").classList.add("expired");
    return;
  }
  $("#pin").classList.remove("expired");
  el.textContent = `Tell the customer this PIN. It works once, for ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} more.`;
}

$("#email-form").onsubmit = act(async () => {
  const body = { email: $("#email").value.trim(), admit: $("#admit").value };
  if ($("#email-name").value.trim()) body.name = $("#email-name").value.trim();
  if ($("#email-note").value.trim()) body.note = $("#email-note").value.trim();
  await call("POST", convPath(state.selected, "/invitations/email"), { body, idempotent: true });
  notice(`Invitation email sent to ${body.email}.`);
  $("#email-form").reset();
  await loadInvitations();
});

// --- invitations of the selected conversation ---------------------------------------------------

async function loadInvitations() {
  const id = state.selected;
  const c = state.conversations.get(id);
  if (!id || (c && c.gone)) return;
  let r;
  try {
    r = await call("GET", convPath(id, "/invitations?limit=100"));
  } catch (e) {
    if (e.status === 403 || e.status === 404) return;
    throw e;
  }
  if (id !== state.selected) return;
  const items = (r.invitations || []).reverse();
  $("#invitations").replaceChildren(...items.map(invitationItem));
  $("#invs-empty").hidden = items.length > 0;
}

// chainList shows each target of a fallback chain with its answer, in order.
function chainList(targets) {
  const ol = document.createElement("ol");
  ol.className = "chain";
  for (const t of targets) {
    const li = document.createElement("li");
    li.dataset.answer = t.answer;
    const who = t.kind === "team" ? "Team " + (names.teams.get(t.id) || t.id) : names.agents.get(t.id) || t.id;
    const why = { timeout: "no answer in time", unavailable: "offline or away" }[t.reason] || t.reason;
    li.textContent = `${who}: ${t.answer}${why ? ` (${why})` : ""}${t.answeredAt ? " at " + timeOf(t.answeredAt) : ""}`;
    ol.append(li);
  }
  return ol;
}

function invitationItem(i) {
  const li = document.createElement("li");
  li.dataset.invitationId = i.invitationId;
  li.dataset.kind = i.kind;
  li.dataset.status = i.status;
  const what = {
    pin: "PIN",
    email: `Email to ${targetOf(i)}`,
    agent: `Agent ${targetOf(i)}`,
    team: `Team ${targetOf(i).replace(/^team /, "")}`,
    forward: i.createdBy ? `Forward to ${targetOf(i)}` : `New customer, offered to ${targetOf(i)}`,
  }[i.kind] || i.kind;
  const title = document.createElement("span");
  title.className = "what";
  title.textContent = what;
  const st = document.createElement("span");
  st.className = "status " + i.status;
  let words = i.status;
  if (i.status === "pending" && i.expiresAt) words += ` until ${timeOf(i.expiresAt)}`;
  if (i.status === "accepted" && i.resolvedBy) words += ` by ${names.agents.get(i.resolvedBy) || i.resolvedBy}`;
  if (i.kind === "email") {
    if (i.delivery) words += ` · delivery: ${i.delivery}${i.deliveryDetail ? " (" + i.deliveryDetail + ")" : ""}`;
    else if (i.sendCount) words += ` · sent ${i.sendCount}×${i.lastSentAt ? ", last at " + timeOf(i.lastSentAt) : ""}`;
  }
  st.textContent = words;
  li.append(title, st);
  if ((i.targets || []).length > 1) li.append(chainList(i.targets));
  if (i.status === "pending") {
    const row = document.createElement("div");
    row.className = "row";
    // An address that bounced or complained is not mailed again (409 email_bounced).
    if (i.kind === "email" && i.delivery !== "bounced" && i.delivery !== "complained") {
      const resend = document.createElement("button");
      resend.className = "secondary resend";
      resend.textContent = "Resend";
      resend.onclick = act(async () => {
        await call("POST", convPath(state.selected, `/invitations/${encodeURIComponent(i.invitationId)}/resend`), { body: {}, idempotent: true });
        notice(`Email sent again to ${i.email}.`);
        await loadInvitations();
      });
      row.append(resend);
    }
    const revoke = document.createElement("button");
    revoke.className = "secondary revoke";
    revoke.textContent = "Revoke";
    revoke.onclick = act(async () => {
      await call("DELETE", convPath(state.selected, `/invitations/${encodeURIComponent(i.invitationId)}`));
      notice("Invitation revoked.");
      if (state.pin && state.pin.invitationId === i.invitationId) {
        state.pin = null;
        $("#pin-box").hidden = true;
        $("#pin-new").textContent = "Get a PIN";
      }
      await loadInvitations();
    });
    row.append(revoke);
    li.append(row);
  }
  return li;
}

/**
 * A forwarder is no longer a participant once the forward is accepted, so pushes about it may
 * not reach them (a team member hears invitation.taken). Until the forward is answered, look
 * now and then: losing access to the conversation means it was accepted.
 */
function watchForward(id, targetAgent) {
  const timer = setInterval(async () => {
    const c = state.conversations.get(id);
    if (!c || c.gone || state.token === "") return clearInterval(timer);
    try {
      await api("GET", convPath(id), { token: state.token });
      const r = await api("GET", convPath(id, "/invitations?limit=100"), { token: state.token });
      const fwd = (r.invitations || []).filter((i) => i.kind === "forward" && i.createdBy === state.agentId).pop();
      if (fwd && fwd.status !== "pending") clearInterval(timer);
    } catch (e) {
      if (e.status === 403 || e.status === 404) {
        clearInterval(timer);
        // An agent target is the only one who can have accepted; a team's member is unknown here.
        const text = `Your forward was accepted${targetAgent ? " by " + targetAgent : ""} — you left this conversation`;
        notice(text);
        markGone(id, text);
      }
    }
  }, 3000);
}

// --- pushes ------------------------------------------------------------------------------------

let invTimer;
function refreshInvitations() {
  clearTimeout(invTimer);
  invTimer = setTimeout(() => loadInvitations().catch(showError), 50);
}

function onPush(m) {
  const d = m.data || {};
  const id = m.conversationId;
  const mine = state.conversations.get(id);
  const topic = mine ? `“${mine.topic}”` : "a conversation";

  if (id && id === state.selected) {
    show(m);
    state.cursor = advance(state.cursor, m);
    if (m.type.startsWith("invitation.")) refreshInvitations();
    if (m.type.startsWith("participant.") || m.type.startsWith("conversation.")) loadConversation().catch(showError);
  } else if (mine && m.type === "message.created") {
    mine.unread = (mine.unread || 0) + 1;
    renderConversations();
  }

  // What this agent must hear about in words, wherever they are looking.
  switch (m.type) {
    case "invitation.created":
      if (d.createdBy !== state.agentId && (d.targetAgentId === state.agentId || state.myTeams.has(d.targetTeamId))) {
        notice(d.purpose === "incoming" ? "A new customer is waiting in your inbox." : `New offer in your inbox: ${describe(m, state.agentId)}`);
      }
      break;
    case "invitation.accepted":
    case "invitation.taken":
      if (d.kind === "forward" && d.createdBy === state.agentId && d.acceptedBy && d.acceptedBy !== state.agentId) {
        // The forwarder hears of it as a team member (taken) or, where the API sends it, accepted.
        const text = `Your forward was accepted by ${names.agents.get(d.acceptedBy) || d.acceptedBy} — you left this conversation`;
        notice(text);
        markGone(id, text, true);
      } else if (m.type === "invitation.accepted" && d.createdBy === state.agentId && d.acceptedBy !== state.agentId) {
        notice(describe(m, state.agentId));
      } else if (m.type === "invitation.taken" && d.acceptedBy !== state.agentId && !mine) {
        notice(describe(m, state.agentId));
      }
      break;
    case "invitation.declined":
    case "invitation.expired":
      if (d.createdBy === state.agentId) notice(`${describe(m, state.agentId)} in ${topic}`);
      break;
    case "invitation.redeemed":
      if (state.pin && state.pin.invitationId === d.invitationId) {
        state.pin.used = true;
        $("#pin").classList.add("expired");
        $("#pin-countdown").textContent = `${names.participants.get(d.participantId) || "A customer"} joined with this PIN. Get a new one for another customer.`;
        $("#pin-new").textContent = "Get a PIN";
      }
      if (mine) notice(`${describe(m, state.agentId)} in ${topic}`);
      break;
    case "invitation.delivery":
      notice(describe(m, state.agentId));
      break;
    case "participant.left":
      if (d.agentId === state.agentId && mine && !mine.gone) markGone(id, "You are no longer part of this conversation.");
      break;
    case "participant.waiting":
      if (mine) notice(`${describe(m, state.agentId)} in ${topic}`);
      break;
    case "conversation.ended":
      if (mine) {
        notice(`${describe(m, state.agentId)}: ${topic}`);
        markGone(id, "This conversation has ended.");
      }
      break;
  }
  if (m.type.startsWith("invitation.") || m.type === "conversation.forwarded") refreshInbox();
}

// --- start -------------------------------------------------------------------------------------

const why = sessionStorage.getItem("desk.why");
if (why) {
  sessionStorage.removeItem("desk.why");
  showError(why);
}
const saved = store.session;
if (saved) signIn(saved.agentId, saved.token).catch((e) => {
  store.session = null;
  showError(e);
  $("#sign-in").hidden = false;
});
