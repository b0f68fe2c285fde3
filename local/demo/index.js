import { $, Log, Participant, api, devToken, val } from "./client.js";

// An invitation email links to the conversation's own page (this one, in the demo) with
// #join=<token>. A real site's widget would redeem it in place; the demo hands it to the join
// page, keeping the token in the fragment so it never reaches a server log.
if (new URLSearchParams(location.hash.slice(1)).has("join")) {
  location.replace("join.html" + location.hash);
}

/** Wires the shared conversation controls of a panel. */
function wireParticipant(root, p) {
  $(root, "[data-get]").onclick = () => p.get();
  $(root, "[data-history]").onclick = () => p.history();
  $(root, "[data-leave]").onclick = () => p.leave();
  $(root, "[data-ws]").onclick = () => p.connect($(root, "[data-ws-status]"));
  const send = () => {
    p.send(val(root, "[data-text]"));
    $(root, "[data-text]").value = "";
  };
  $(root, "[data-send]").onclick = send;
  $(root, "[data-text]").onkeydown = (e) => e.key === "Enter" && send();
}

function agentPanel(root, defaultAgent) {
  root.append(document.getElementById("agent-panel").content.cloneNode(true));
  const log = new Log($(root, "[data-log]"));
  const p = new Participant(root, log);
  $(root, "[data-agent]").value = defaultAgent;
  wireParticipant(root, p);
  const convInput = $(root, "[data-conv]");
  convInput.onchange = () => {
    p.conversationId = convInput.value.trim();
    p.after = "";
  };
  const setConversation = (id) => {
    p.conversationId = id;
    p.after = "";
    convInput.value = id;
  };

  $(root, "[data-signin]").onclick = async () => {
    const agentId = $(root, "[data-agent]").value;
    try {
      p.token = await devToken(agentId);
      $(root, "[data-who]").textContent = agentId;
      log.line("ok", `Signed in as ${agentId} (dev token, 12 h)`);
      await p.connect($(root, "[data-ws-status]"));
    } catch (e) {
      log.line("error", String(e));
    }
  };
  $(root, "[data-agents]").onclick = () => p.call("GET", "/agents");
  $(root, "[data-teams]").onclick = () => p.call("GET", "/teams");
  $(root, "[data-inbox]").onclick = () => p.call("GET", "/inbox");
  $(root, "[data-start]").onclick = async () => {
    const r = await p.call("POST", "/conversations", { body: { topic: "Started by an agent" }, idempotent: true });
    if (r.status === 201) setConversation(r.body.conversationId);
  };
  $(root, "[data-end]").onclick = () => p.need() && p.call("POST", p.path("/end"), { idempotent: true });

  $(root, "[data-pin]").onclick = async () => {
    if (!p.need()) return;
    const r = await p.call("POST", p.path("/invitations/pin"), { body: {}, idempotent: true });
    $(root, "[data-pin-out]").textContent = r.status === 201 || r.status === 200 ? r.body.pin : "";
  };
  $(root, "[data-invite-email]").onclick = () => {
    if (!p.need()) return;
    const body = { email: val(root, "[data-email]") };
    if (val(root, "[data-email-name]")) body.name = val(root, "[data-email-name]");
    if (val(root, "[data-email-note]")) body.note = val(root, "[data-email-note]");
    p.call("POST", p.path("/invitations/email"), { body, idempotent: true });
  };
  const target = () => ({
    kind: $(root, "[data-target-kind]").value,
    id: val(root, "[data-target-id]"),
    message: val(root, "[data-target-msg]"),
  });
  $(root, "[data-invite-target]").onclick = () => {
    if (!p.need()) return;
    const t = target();
    const body = t.kind === "agent" ? { agentId: t.id, message: t.message } : { teamId: t.id, message: t.message };
    p.call("POST", p.path("/invitations/" + t.kind), { body, idempotent: true });
  };
  $(root, "[data-forward]").onclick = () => {
    if (!p.need()) return;
    const t = target();
    p.call("POST", p.path("/forward"), { body: { to: { kind: t.kind, id: t.id }, message: t.message }, idempotent: true });
  };
  $(root, "[data-invitations]").onclick = () => p.need() && p.call("GET", p.path("/invitations"));
  const invitationCall = async (verb, body) => {
    const id = val(root, "[data-inv]");
    if (!id) return log.line("error", "Enter an invitation id.");
    const r = await p.call("POST", `/invitations/${encodeURIComponent(id)}/${verb}`, { body, idempotent: true });
    if (verb === "accept" && r.status < 300 && r.body && r.body.conversationId) setConversation(r.body.conversationId);
  };
  $(root, "[data-accept]").onclick = () => invitationCall("accept", {});
  $(root, "[data-decline]").onclick = () => invitationCall("decline", { reason: "Busy right now" });
}

function customerPanel(root) {
  root.append(document.getElementById("customer-panel").content.cloneNode(true));
  const log = new Log($(root, "[data-log]"));
  const p = new Participant(root, log);
  wireParticipant(root, p);
  $(root, "[data-start]").onclick = async () => {
    const body = { topic: val(root, "[data-topic]"), pageUrl: location.origin + "/demo/join.html" };
    if (val(root, "[data-name]")) body.displayName = val(root, "[data-name]");
    // A visitor starts anonymously: no credential, and a fresh session each time.
    const r = log.answer("POST", "/conversations", await api("POST", "/conversations", { body, idempotent: true }));
    if (r.status !== 201) return;
    p.token = r.body.sessionToken;
    p.conversationId = r.body.conversationId;
    p.after = "";
    $(root, "[data-conv-out]").textContent = p.conversationId;
    await p.connect($(root, "[data-ws-status]"));
  };
}

agentPanel(document.getElementById("agent-a"), "ada");
agentPanel(document.getElementById("agent-b"), "grace");
customerPanel(document.getElementById("customer"));
