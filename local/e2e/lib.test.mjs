// The demo's API client (local/demo/lib.js) under Node's test runner, with fetch replaced by
// a scripted server: what a browser would do with a busy answer.
import { test } from "node:test";
import assert from "node:assert/strict";

import { api, ApiError, BUSY_RETRIES } from "../demo/lib.js";

/** Replaces fetch with answers given in order; returns the requests it saw. */
function serve(...answers) {
  const seen = [];
  globalThis.fetch = async (path, init) => {
    seen.push({ path, init, at: Date.now() });
    const [status, body, headers] = answers[Math.min(seen.length - 1, answers.length - 1)];
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
  };
  return seen;
}

const busy = [503, { error: { code: "conversation_busy", message: "too many changes at once" } }, { "Retry-After": "1" }];

test("a 503 is sent again after its Retry-After, with the same Idempotency-Key", async () => {
  const seen = serve(busy, [201, { seq: 7 }]);
  const out = await api("POST", "/conversations/c1/messages", { token: "t", body: { text: "hi" }, idempotent: true });
  assert.deepEqual(out, { seq: 7 });
  assert.equal(seen.length, 2);
  const [first, retry] = seen;
  assert.ok(first.init.headers["Idempotency-Key"]);
  assert.equal(retry.init.headers["Idempotency-Key"], first.init.headers["Idempotency-Key"]);
  assert.equal(retry.init.body, first.init.body);
  assert.ok(retry.at - first.at >= 950, `retried after ${retry.at - first.at} ms, want Retry-After's 1 s`);
});

test("a 503 that lasts is shown as the API's own words after the retries", async () => {
  const seen = serve(busy);
  await assert.rejects(api("POST", "/conversations/c1/end", { token: "t", idempotent: true }), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 503);
    assert.equal(err.code, "conversation_busy");
    assert.equal(err.message, "too many changes at once");
    return true;
  });
  assert.equal(seen.length, 1 + BUSY_RETRIES);
});

test("other refusals are not retried", async () => {
  const seen = serve([500, { error: { code: "internal", message: "something went wrong on our side" } }]);
  await assert.rejects(api("POST", "/conversations", { body: {}, idempotent: true }), { status: 500, code: "internal" });
  assert.equal(seen.length, 1);
});
