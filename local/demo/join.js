import { $, Log, Participant, api, val } from "./client.js";

// The join page: an emailed link carries #join=<token> in the fragment (never sent to any
// server, never in logs); a PIN is typed. Either is redeemed by a POST — a mail scanner that
// merely opens the link consumes nothing — and the answer is a visitor session.

const root = document.getElementById("join");
const log = new Log($(root, "[data-log]"));
const p = new Participant(root, log);

// Read the token once, then drop it from the address bar and history.
const fragment = new URLSearchParams(location.hash.slice(1));
const joinToken = fragment.get("join") || "";
if (joinToken) {
  history.replaceState(null, "", location.pathname + location.search);
  $(root, "[data-intro]").textContent = "You were invited by email. Press the button to join.";
  $(root, "[data-link-row]").hidden = false;
  $(root, "[data-pin-row]").hidden = true;
}

async function redeem(path, body) {
  const name = val(root, "[data-name]");
  if (name) body.displayName = name;
  const r = log.answer("POST", path, await api("POST", path, { body }));
  if (r.status !== 200 && r.status !== 201) return;
  p.token = r.body.sessionToken;
  p.conversationId = r.body.conversationId;
  $(root, "[data-conv]").textContent = p.conversationId;
  $(root, "[data-in]").hidden = false;
  $(root, "[data-link-row]").hidden = true;
  $(root, "[data-pin-row]").hidden = true;
  await p.connect($(root, "[data-ws-status]"));
  await p.history();
}

$(root, "[data-join-pin]").onclick = () => {
  const pin = val(root, "[data-pin]").replace(/\s+/g, "");
  if (pin) redeem("/join/pin", { pin });
};
$(root, "[data-pin]").onkeydown = (e) => e.key === "Enter" && $(root, "[data-join-pin]").click();
$(root, "[data-join-link]").onclick = () => redeem("/join/token", { token: joinToken });

const send = () => {
  p.send(val(root, "[data-text]"));
  $(root, "[data-text]").value = "";
};
$(root, "[data-send]").onclick = send;
$(root, "[data-text]").onkeydown = (e) => e.key === "Enter" && send();
$(root, "[data-history]").onclick = () => p.history();
$(root, "[data-leave]").onclick = () => p.leave();
