// The browser test of the demo desk and customer pages (issue #11): the product's story told
// through the UI only, in Debian's Chromium driven by playwright-core. It starts its own local
// stack (the `make dev` program on free ports: DynamoDB Local, the SES emulator, the gateway)
// and stops it at the end. Screenshots of every step go to local/e2e/screenshots/ (git-ignored)
// and stay there, pass or fail.
//
// Run it with `make e2e` (which installs Chromium when missing and builds the dev program), or
// `node --test local/e2e/` with DEV_BINARY pointing at a built local/cmd/dev.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const shots = join(here, "screenshots");
const devBinary = process.env.DEV_BINARY || join(repo, ".build", "dev");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT = 15000;

// --- the local stack -----------------------------------------------------------------------

/** Starts the dev program on free ports; answers its URLs once its banner is printed. */
async function startStack() {
  const proc = spawn(devBinary, [], {
    cwd: repo,
    env: {
      ...process.env,
      DEV_HTTP_ADDR: "127.0.0.1:0",
      DEV_WS_ADDR: "127.0.0.1:0",
      DEV_DYNAMODB_PORT: "0",
      DEV_SES_PORT: "0",
      LOG_LEVEL: "WARN",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stderr.on("data", (b) => (out += b));
  const urls = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("the local stack did not start within 120 s:\n" + out)), 120000);
    proc.stdout.on("data", (b) => {
      out += b;
      const http = /HTTP API\s+(http:\/\/\S+)/.exec(out);
      const ses = /SES emulator\s+(http:\/\/\S+)/.exec(out);
      if (http && ses && out.includes("Ctrl-C stops everything")) {
        clearTimeout(timer);
        ok({ http: http[1], ses: ses[1] });
      }
    });
    proc.on("exit", (code) => fail(new Error(`the local stack exited (${code}):\n${out}`)));
  });
  return {
    ...urls,
    output: () => out,
    stop: () =>
      new Promise((done) => {
        if (proc.exitCode !== null) return done();
        proc.on("exit", done);
        proc.kill("SIGTERM");
        setTimeout(() => proc.kill("SIGKILL"), 15000).unref();
      }),
  };
}

/** The mail the SES emulator holds for an address, once there are at least n of them. */
async function mailsTo(ses, address, n = 1) {
  let mails = [];
  for (let i = 0; i < 50; i++) {
    const store = await (await fetch(ses + "/store")).json();
    mails = (store.emails || []).filter((m) => m.destination.to.includes(address));
    if (mails.length >= n) return mails;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${mails.length} mails to ${address}, not ${n}`);
}

// --- page helpers --------------------------------------------------------------------------

/** Waits until some element matching css in page holds text. */
async function sees(page, css, text) {
  await page.locator(css, { hasText: text }).first().waitFor({ state: "visible", timeout: WAIT });
}

/** Asserts no element matching css holds text. */
async function neverSees(page, css, text) {
  const n = await page.locator(css, { hasText: text }).count();
  assert.equal(n, 0, `${page.url()} shows “${text}” in ${css}`);
}

/** No element marked hidden takes any space on screen (the [hidden] rule is not overridden). */
async function nothingHiddenShows(page) {
  const shown = await page.$$eval("[hidden]", (els) =>
    els.filter((e) => e.getClientRects().length > 0).map((e) => e.id || e.className || e.tagName),
  );
  assert.deepEqual(shown, [], `${page.url()}: hidden elements are visible`);
}

/**
 * Types into every visible, enabled text field of the page, checks that every key arrived,
 * and puts the field back as it was: no key handler may swallow typing.
 */
async function typesEverywhere(page) {
  const fields = page.locator("input:not([type=radio]):not([type=checkbox]):visible:enabled, textarea:visible:enabled");
  const n = await fields.count();
  assert.ok(n > 0, `${page.url()}: no field to type into`);
  for (let i = 0; i < n; i++) {
    const f = fields.nth(i);
    const before = await f.inputValue();
    await f.fill("");
    const sample = (await f.getAttribute("type")) === "email" ? "a.b@c.de" : "Typed 123 ok";
    await f.pressSequentially(sample);
    assert.equal(await f.inputValue(), sample, `${page.url()}: typing into field ${i} was swallowed`);
    await f.fill(before);
  }
}

/** A phone page: no horizontal scroll, every control at least 44 px high and wide enough. */
async function phoneFriendly(page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `${page.url()}: scrolls sideways (${scroll} > ${client})`);
  const small = await page.$$eval("button, input, textarea, select, a.button", (els) =>
    els
      .filter((e) => e.getClientRects().length > 0)
      .map((e) => ({ what: e.id || e.textContent.trim() || e.tagName, r: e.getBoundingClientRect() }))
      .filter(({ r }) => r.height < 44 || r.width < 44)
      .map(({ what, r }) => `${what} ${Math.round(r.width)}×${Math.round(r.height)}`),
  );
  assert.deepEqual(small, [], `${page.url()}: touch targets under 44 px`);
}

// --- the story -----------------------------------------------------------------------------

test("the desk and the customer pages tell the product's story", { timeout: 300000 }, async () => {
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  const stack = await startStack();
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const pages = {};
  const consoleErrors = [];
  let stepNo = 0;

  async function open(name, path, options = {}) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, ...options });
    const page = await context.newPage();
    page.on("pageerror", (e) => consoleErrors.push(`${name}: ${e.message}`));
    pages[name] = page;
    await page.goto(stack.http + path);
    return page;
  }

  async function snap(label) {
    for (const [name, page] of Object.entries(pages)) {
      if (page.isClosed()) continue;
      await page.screenshot({ path: join(shots, `${String(stepNo).padStart(2, "0")}-${label}-${name}.png`), fullPage: true }).catch(() => {});
    }
  }

  /** A screen as the README shows it: the viewport only, a PNG small enough to commit. */
  async function readmeShot(page, name) {
    await page.screenshot({ path: join(shots, `readme-${name}.png`) });
  }

  /** One step of the story: screenshots of every page after it, pass or fail. */
  async function step(label, fn) {
    stepNo++;
    const started = Date.now();
    try {
      await fn();
      console.log(`step ${stepNo} ${label}: ${Date.now() - started} ms`);
      for (const page of Object.values(pages)) if (!page.isClosed()) await nothingHiddenShows(page);
      await snap(label);
    } catch (e) {
      await snap("FAILED-" + label);
      throw e;
    }
  }

  try {
    let ada, grace, linus, vera, cleo, pat;

    await step("agents-sign-in", async () => {
      for (const [name, id] of [["ada", "ada"], ["grace", "grace"], ["linus", "linus"]]) {
        // One URL to start from: the demo's front page leads to the desk.
        const page = await open(name, "/demo/");
        await page.getByRole("link", { name: /Agent desk/ }).click();
        await page.getByLabel("Agent", { exact: true }).selectOption(id);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await sees(page, "#socket-state", "live");
      }
      ({ ada, grace, linus } = pages);
      await sees(ada, "#me", "Ada Lovelace");
    });

    await step("visitor-starts", async () => {
      vera = await open("vera", "/demo/widget.html");
      await typesEverywhere(vera);
      // Keyboard users go through the form in reading order.
      await vera.getByLabel("What can we help with?", { exact: true }).focus();
      await vera.keyboard.press("Tab");
      assert.equal(await vera.evaluate(() => document.activeElement.id), "start-name");
      await vera.keyboard.press("Tab");
      assert.equal(await vera.evaluate(() => document.activeElement.textContent), "Start the chat");
      await vera.getByLabel("What can we help with?", { exact: true }).fill("Refund for order 1042");
      await vera.getByLabel("Your name", { exact: true }).fill("Vera");
      await vera.getByRole("button", { name: "Start the chat", exact: true }).click();
      await sees(vera, "#chat-people", "Waiting for an agent");
      await sees(vera, "#timeline .sys", "Waiting for an agent from Support");
      // New messages are announced to screen readers.
      assert.equal(await vera.locator("#timeline").getAttribute("aria-live"), "polite");
      // No agent panel on a customer page.
      assert.equal(await vera.locator("#inbox, #tools, #targets, #pin-new").count(), 0);
    });

    await step("agent-accepts-from-inbox", async () => {
      const offer = ada.locator("#inbox .offer", { hasText: "Refund for order 1042" });
      await offer.waitFor({ timeout: WAIT });
      assert.match(await offer.textContent(), /New customer conversation for team Support/);
      // The offer shows what the agent needs to judge it (SPEC §9.4): who waits, and since when.
      assert.match(await offer.locator("dl").textContent(), /CustomerVera/);
      assert.match(await offer.locator("dl").textContent(), /Waiting(under a minute|\d+ min) \(since/);
      await sees(grace, "#inbox .offer", "Refund for order 1042");
      await offer.getByRole("button", { name: "Accept", exact: true }).click();
      await sees(ada, "#conv-title", "Refund for order 1042");
      await sees(ada, "#timeline .sys", "Ada Lovelace is now handling this conversation");
      await sees(ada, "#timeline .sys.agents-only", "agents only");
      // The other members' offer is gone once it is taken.
      await grace.locator("#inbox .offer", { hasText: "Refund for order 1042" }).waitFor({ state: "detached", timeout: WAIT });
      // The picker lists agents and teams with their availability.
      await sees(ada, "#targets .target", "Grace Hopper");
      await sees(ada, "#targets .target", "Margaret Hamilton");
      assert.equal(await ada.locator("#target-agent-margaret ~ label .avail").textContent(), "away");
      assert.equal(await ada.locator("#target-agent-alan ~ label .avail").textContent(), "offline");
      assert.equal(await ada.locator("#target-agent-grace ~ label .avail").textContent(), "online");
      await sees(vera, "#chat-people", "With Ada Lovelace");
      await sees(vera, "#timeline .sys", "Ada Lovelace is now handling this conversation");
    });

    await step("chat-both-ways", async () => {
      await vera.getByLabel("Message", { exact: true }).click();
      await vera.keyboard.type("Hello, I was charged twice.");
      await vera.keyboard.press("Enter");
      await sees(ada, "#timeline .msg.theirs", "Hello, I was charged twice.");
      await ada.getByLabel("Message", { exact: true }).click();
      await ada.keyboard.type("Sorry about that, Vera. Let me check.");
      await ada.getByRole("button", { name: "Send", exact: true }).click();
      await sees(vera, "#timeline .msg.theirs", "Sorry about that, Vera. Let me check.");
      await sees(vera, "#timeline .msg.mine", "Hello, I was charged twice.");
    });

    await step("email-invitation", async () => {
      await typesEverywhere(ada);
      await ada.getByLabel("Email address", { exact: true }).fill("cleo@example.test");
      await ada.getByLabel("Their name (optional)", { exact: true }).fill("Cleo");
      await ada.getByLabel("Note in the email (optional)", { exact: true }).fill("Join us, we are looking at your order.");
      await ada.getByRole("button", { name: "Send invitation", exact: true }).click();
      const row = ada.locator("#invitations li[data-kind=email]", { hasText: "cleo@example.test" });
      await row.waitFor({ timeout: WAIT });
      assert.match(await row.textContent(), /pending/);

      assert.equal((await mailsTo(stack.ses, "cleo@example.test")).length, 1);
      await row.getByRole("button", { name: "Resend", exact: true }).click();
      await sees(ada, "#notices", "Email sent again to cleo@example.test");
      const mail = (await mailsTo(stack.ses, "cleo@example.test", 2)).pop();
      assert.match(mail.subject, /Ada Lovelace invites you/);
      // SES reports the email delivered (locally through /_dev/ses-events): the desk shows it.
      const now = new Date().toISOString();
      const reported = await fetch(stack.http + "/_dev/ses-events", {
        method: "POST",
        body: JSON.stringify({
          eventType: "Delivery",
          mail: { messageId: mail.messageId, timestamp: now, destination: ["cleo@example.test"] },
          delivery: { timestamp: now, recipients: ["cleo@example.test"], smtpResponse: "250 ok" },
        }),
      });
      assert.equal(reported.status, 202, await reported.text());
      await sees(ada, "#invitations li[data-kind=email]", "delivery: delivered");
      await sees(ada, "#timeline .sys.agents-only", "cleo@example.test>: delivered");
      await neverSees(vera, "#timeline .sys", "delivered");
      const link = /href="([^"]+#join=[^"]+)"/.exec(mail.body.html)[1];

      const joinCalls = [];
      cleo = await open("cleo", "", { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      cleo.on("request", (r) => r.url().includes("/join/") && joinCalls.push(r.url()));
      await cleo.goto(link);
      await sees(cleo, "#confirm", "You are invited to a conversation");
      assert.ok(!cleo.url().includes("#join="), "the token stays in the address bar");
      await typesEverywhere(cleo);
      await phoneFriendly(cleo);
      // Opening the link used nothing: no redeem call, and the invitation is still pending.
      await cleo.waitForTimeout(500);
      assert.deepEqual(joinCalls, []);
      await ada.reload();
      await row.waitFor({ timeout: WAIT });
      assert.match(await row.textContent(), /pending/);
      await neverSees(ada, "#timeline .sys", "Cleo joined");

      await cleo.locator("#confirm").getByLabel("Your name (optional)", { exact: true }).fill("Cleo");
      await cleo.getByRole("button", { name: "Join the conversation", exact: true }).click();
      await sees(cleo, "#chat-title", "Refund for order 1042");
      assert.equal(joinCalls.length, 1);
      // The customer joining by link sees the history and chats.
      await sees(cleo, "#timeline .msg", "Hello, I was charged twice.");
      await cleo.getByLabel("Message", { exact: true }).click();
      await cleo.keyboard.type("Hi, Cleo here. Vera's accountant.");
      await cleo.keyboard.press("Enter");
      await sees(ada, "#timeline .msg", "Hi, Cleo here.");
      await sees(vera, "#timeline .msg", "Hi, Cleo here.");
      await sees(ada, "#timeline .sys.agents-only", "Cleo joined with the email link");
      await sees(ada, "#invitations li[data-kind=email]", "redeemed");
    });

    await step("pin-on-a-phone", async () => {
      await ada.getByRole("button", { name: "Get a PIN", exact: true }).click();
      await sees(ada, "#pin-countdown", "It works once");
      const pin = (await ada.locator("#pin").textContent()).trim();
      assert.match(pin, /^[\d ]{6,}$/);
      // Renewing gives a new PIN and the old one stops working.
      await ada.getByRole("button", { name: "Renew PIN", exact: true }).click();
      await ada.waitForFunction((old) => document.querySelector("#pin").textContent.trim() !== old, pin);
      const renewed = (await ada.locator("#pin").textContent()).trim();
      await readmeShot(ada, "desk");

      pat = await open("pat", "/demo/join.html", { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      await typesEverywhere(pat);
      await phoneFriendly(pat);
      await pat.getByLabel("PIN", { exact: true }).fill(pin);
      await pat.getByRole("button", { name: "Join", exact: true }).click();
      await sees(pat, "#error", "PIN");
      await pat.getByLabel("PIN", { exact: true }).fill(renewed);
      await pat.locator("#pin").getByLabel("Your name (optional)", { exact: true }).fill("Pat");
      await pat.getByRole("button", { name: "Join", exact: true }).click();
      await sees(pat, "#chat-title", "Refund for order 1042");
      await phoneFriendly(pat);
      await pat.getByLabel("Message", { exact: true }).tap();
      await pat.keyboard.type("Pat here, on my phone.");
      await pat.getByRole("button", { name: "Send", exact: true }).tap();
      await sees(ada, "#timeline .msg", "Pat here, on my phone.");
      await sees(ada, "#timeline .sys.agents-only", "Pat joined with the PIN");
      await sees(ada, "#pin-countdown", "Pat joined with this PIN");
      await sees(vera, "#timeline .sys", "Pat joined");
      await readmeShot(pat, "phone");
    });

    await step("the-lobby-admit-and-refuse", async () => {
      // SPEC §9.3: invitees who must wait until an agent lets them in.
      await ada.getByLabel("Who lets a customer invited by PIN or email in", { exact: true }).selectOption("agent");
      const pinFor = async () => {
        await ada.getByRole("button", { name: /Get a PIN|Renew PIN/ }).click();
        await sees(ada, "#pin-countdown", "It works once");
        return (await ada.locator("#pin").textContent()).trim();
      };
      const join = async (name) => {
        const pin = await pinFor();
        const page = await open(name.toLowerCase(), "/demo/join.html", { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
        await page.getByLabel("PIN", { exact: true }).fill(pin);
        await page.locator("#pin").getByLabel("Your name (optional)", { exact: true }).fill(name);
        await page.getByRole("button", { name: "Join", exact: true }).click();
        await sees(page, "#lobby-wait", "Waiting to be let in");
        await sees(ada, "#lobby li", `${name} is waiting to be let in`);
        return page;
      };
      const lou = await join("Lou");
      await sees(lou, "#socket-state", "connected"); // Rex below may be refused before his socket is up
      await neverSees(lou, "#timeline .msg", "Pat here, on my phone.");
      assert.equal(await lou.locator("#composer").isVisible(), false);
      await ada.locator("#lobby li", { hasText: "Lou" }).getByRole("button", { name: "Admit", exact: true }).click();
      await sees(lou, "#chat-title", "Refund for order 1042");
      await sees(lou, "#timeline .msg", "Pat here, on my phone."); // the whole history, once in
      await sees(vera, "#timeline .sys", "Lou was let in");
      assert.equal(await lou.locator("#lobby-wait").isVisible(), false);

      const rex = await join("Rex");
      await ada.locator("#lobby li", { hasText: "Rex" }).getByRole("button", { name: "Refuse", exact: true }).click();
      await sees(rex, "#over", "You were not let into the conversation.");
      await sees(ada, "#timeline .sys.agents-only", "Rex is waiting to be let in");
      await sees(ada, "#timeline .sys.agents-only", "Rex was not let in");
      await neverSees(vera, "#timeline .sys", "Rex"); // only agents let in, and hear of, this wait
      // The lobby empties when the desk reloads the conversation (after its answer, and again
      // on the push, which the outbox sends after the answer): wait for it, do not race it.
      await ada.locator("#lobby li").first().waitFor({ state: "detached", timeout: WAIT });
      await ada.getByLabel("Who lets a customer invited by PIN or email in", { exact: true }).selectOption("none");
      await lou.close();
      await rex.close();
    });

    await step("an-agent-declines-a-team-invitation-is-revoked", async () => {
      await ada.locator("#targets label", { hasText: "Linus Torvalds" }).click();
      await ada.getByLabel("Message for them", { exact: true }).fill("Are you free for a refund?");
      await ada.getByRole("button", { name: "Invite (you stay)", exact: true }).click();
      await sees(ada, "#invitations li[data-kind=agent]", "pending");
      const offer = linus.locator("#inbox .offer", { hasText: "Are you free for a refund?" });
      await offer.waitFor({ timeout: WAIT });
      await offer.getByRole("button", { name: "Decline", exact: true }).click();
      await offer.waitFor({ state: "detached", timeout: WAIT });
      await sees(ada, "#notices", "Linus Torvalds declined the invitation");
      await sees(ada, "#invitations li[data-kind=agent]", "declined");

      // A team invitation, revoked before anyone answers: the members' offer goes away.
      await ada.locator("#targets label", { hasText: "Team Billing" }).click();
      await ada.getByLabel("Message for them", { exact: true }).fill("Billing, anyone free?");
      await ada.getByRole("button", { name: "Invite (you stay)", exact: true }).click();
      const teamOffer = grace.locator("#inbox .offer", { hasText: "Billing, anyone free?" });
      await teamOffer.waitFor({ timeout: WAIT });
      assert.match(await teamOffer.textContent(), /Ada Lovelace invites team Billing to join/);
      const row = ada.locator("#invitations li[data-kind=team]");
      await row.getByRole("button", { name: "Revoke", exact: true }).click();
      await sees(ada, "#invitations li[data-kind=team]", "revoked");
      await teamOffer.waitFor({ state: "detached", timeout: WAIT });
    });

    await step("fallback-chain", async () => {
      // Linus first, Grace after him: Linus declines, the offer moves on to Grace at once.
      await ada.locator("#targets label", { hasText: "Linus Torvalds" }).click();
      await ada.getByLabel("Message for them", { exact: true }).fill("CHAIN: who can take the refund?");
      await ada.locator("#fallback-1").selectOption("agent:grace");
      await ada.getByRole("button", { name: "Invite (you stay)", exact: true }).click();
      const first = linus.locator("#inbox .offer", { hasText: "CHAIN: who can take the refund?" });
      await first.waitFor({ timeout: WAIT });
      const next = grace.locator("#inbox .offer", { hasText: "CHAIN: who can take the refund?" });
      assert.equal(await next.count(), 0, "the second target waits for their turn");
      await first.getByRole("button", { name: "Decline", exact: true }).click();
      await first.waitFor({ state: "detached", timeout: WAIT });
      await next.waitFor({ timeout: WAIT });
      const row = ada.locator("#invitations li[data-kind=agent]", { hasText: "Grace Hopper: pending" });
      await row.waitFor({ timeout: WAIT });
      assert.match(await row.textContent(), /Linus Torvalds: declined/);
      await sees(ada, "#timeline .sys.agents-only", "now offered to Grace Hopper");
      // Revoked: every open target is canceled and Grace's offer goes away.
      await row.getByRole("button", { name: "Revoke", exact: true }).click();
      await sees(ada, "#invitations li[data-kind=agent]", "Grace Hopper: canceled");
      await next.waitFor({ state: "detached", timeout: WAIT });
    });

    await step("invite-agent", async () => {
      await ada.locator("#targets label", { hasText: "Grace Hopper" }).click();
      await ada.getByLabel("Message for them", { exact: true }).fill("Could you check the card payments?");
      await ada.getByRole("button", { name: "Invite (you stay)", exact: true }).click();
      const offer = grace.locator("#inbox .offer", { hasText: "Could you check the card payments?" });
      await offer.waitFor({ timeout: WAIT });
      assert.match(await offer.textContent(), /Ada Lovelace invites you to join/);
      assert.match(await offer.textContent(), /Refund for order 1042/);
      // The last messages the customer saw, oldest first.
      assert.match(await offer.locator(".recent").textContent(), /Vera: Hello, I was charged twice\./);
      await readmeShot(grace, "inbox");
      await offer.getByRole("button", { name: "Accept", exact: true }).click();
      // The invited agent sees the whole history.
      await sees(grace, "#timeline .msg", "Hello, I was charged twice.");
      await sees(grace, "#timeline .msg", "Pat here, on my phone.");
      await sees(ada, "#notices", "Grace Hopper accepted");
      await sees(ada, "#timeline .sys", "Grace Hopper joined");
      await grace.getByLabel("Message", { exact: true }).fill("Grace here, the payments look doubled.");
      await grace.getByLabel("Message", { exact: true }).press("Enter");
      await sees(vera, "#timeline .msg", "Grace here");
    });

    await step("forward-to-team", async () => {
      await ada.locator("#targets label", { hasText: "Team Support" }).click();
      await ada.getByLabel("Message for them", { exact: true }).fill("FWD-NOTE: refund approved, please finish it");
      await ada.getByRole("button", { name: "Forward (you leave)", exact: true }).click();
      const offer = linus.locator("#inbox .offer", { hasText: "FWD-NOTE" });
      await offer.waitFor({ timeout: WAIT });
      assert.match(await offer.textContent(), /Ada Lovelace forwards a conversation to team Support/);
      await offer.getByRole("button", { name: "Accept", exact: true }).click();
      await sees(linus, "#conv-title", "Refund for order 1042");
      await sees(linus, "#timeline .msg", "Hello, I was charged twice.");
      await sees(ada, "#conv-gone", "Your forward was accepted by Linus Torvalds — you left this conversation");
      await sees(ada, "#conversations .conv.gone", "Refund for order 1042");
      assert.ok(await ada.locator("#composer").isHidden());
      assert.ok(await ada.locator("#tools").isHidden());
      // The customers saw a neutral notice and never the forward's message.
      for (const c of [vera, cleo, pat]) {
        await sees(c, "#timeline .sys", "handed over to Support");
        await sees(c, "#timeline .sys", "Linus Torvalds is now handling this conversation");
        await neverSees(c, "#timeline", "FWD-NOTE");
        await neverSees(c, "#timeline", "card payments");
        assert.equal(await c.locator("#timeline .agents-only").count(), 0);
      }
      await sees(vera, "#chat-people", "Linus Torvalds");
    });

    await step("reload-keeps-the-session", async () => {
      await vera.reload();
      await sees(vera, "#chat-title", "Refund for order 1042");
      await sees(vera, "#timeline .msg.mine", "Hello, I was charged twice.");
      await sees(vera, "#socket-state", "connected");
      await vera.getByLabel("Message", { exact: true }).fill("Still here after a reload.");
      await vera.getByRole("button", { name: "Send", exact: true }).click();
      await sees(linus, "#timeline .msg", "Still here after a reload.");
      await linus.getByLabel("Message", { exact: true }).pressSequentially("Refund done, Vera.");
      await linus.keyboard.press("Enter");
      await sees(vera, "#timeline .msg", "Refund done, Vera.");
      await typesEverywhere(vera);
      await typesEverywhere(linus);
    });

    await step("desk-catches-up-after-a-lost-connection", async () => {
      await linus.evaluate(() => window.desk.dropSocket());
      await vera.getByLabel("Message", { exact: true }).fill("Sent while the desk was offline.");
      await vera.getByRole("button", { name: "Send", exact: true }).click();
      await sees(linus, "#timeline .msg", "Sent while the desk was offline.");
      await sees(linus, "#socket-state", "live");
      assert.equal(await linus.locator("#timeline .msg", { hasText: "Sent while the desk was offline." }).count(), 1);
    });

    await step("customer-leaves", async () => {
      await pat.getByRole("button", { name: "Leave the conversation", exact: true }).tap();
      await sees(pat, "#over", "You left the conversation.");
      await sees(linus, "#timeline .sys", "Pat left");
      await pat.reload();
      await sees(pat, "#pin", "Join with a PIN");
    });

    await step("agent-ends", async () => {
      await linus.getByRole("button", { name: "End conversation", exact: true }).click();
      await sees(linus, "#conv-gone", "This conversation has ended.");
      await sees(vera, "#over", "The agent ended the conversation.");
      await sees(cleo, "#over", "The agent ended the conversation.");
      await sees(cleo, "#timeline .sys", "Linus Torvalds ended the conversation");
      await vera.reload();
      await sees(vera, "#start", "Chat with our team");
    });

    await step("agent-starts-a-conversation", async () => {
      await ada.getByLabel("Topic of a new conversation", { exact: true }).fill("Callback about order 1042");
      await ada.getByRole("button", { name: "Start", exact: true }).click();
      await sees(ada, "#conv-title", "Callback about order 1042");
      await sees(ada, "#conv-meta", "handled by Ada Lovelace");
      await sees(ada, "#timeline .sys", "Conversation started");
      await sees(ada, "#conversations .conv.selected", "Callback about order 1042");
      await sees(ada, "#conversations .conv.gone", "Refund for order 1042");
      await ada.getByRole("button", { name: "Get a PIN", exact: true }).click();
      await sees(ada, "#pin-countdown", "It works once");
    });

    await step("forward-to-an-agent", async () => {
      // Ada is not the target here, nor in a target team: no push tells her the forward was
      // taken, and her desk still finds out.
      await ada.locator("#targets label", { hasText: "Grace Hopper" }).click();
      await ada.getByLabel("Message for them", { exact: true }).fill("Please call them back at 3");
      await ada.getByRole("button", { name: "Forward (you leave)", exact: true }).click();
      const offer = grace.locator("#inbox .offer", { hasText: "Please call them back at 3" });
      await offer.waitFor({ timeout: WAIT });
      assert.match(await offer.textContent(), /Ada Lovelace forwards a conversation to you/);
      await offer.getByRole("button", { name: "Accept", exact: true }).click();
      await sees(grace, "#conv-title", "Callback about order 1042");
      await sees(ada, "#conv-gone", "Your forward was accepted by Grace Hopper — you left this conversation");
      await sees(ada, "#conversations .conv.gone", "Callback about order 1042");
    });

    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close().catch(() => {});
    await stack.stop();
  }
});
