// @azure/identity against the emulator, started by the entra-emulator-node helper: a token ARM
// accepts, Entra's AADSTS7000215 for a wrong secret, the clock, and the banner's
// NODE_EXTRA_CA_CERTS for a Node process started after the emulator.
//
// Run: ENTRA_EMULATOR_BIN=target/debug/entra-emulator node --test   (in clients/node, after npm ci)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import https from "node:https";
import { promisify } from "node:util";
import { startEmulator } from "./entra-emulator/index.mjs";

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator?.stop());

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));

function getJson(url, token) {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: emulator.tlsOptions.ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
      })
      .on("error", reject);
  });
}

test("ClientSecretCredential gets a token that ARM accepts", async () => {
  const token = await emulator.credential.getToken("https://management.azure.com/.default");
  const claims = claimsOf(token.token);
  assert.equal(claims.aud, "https://management.azure.com");
  assert.equal(claims.appid, emulator.adminClientId);
  // The SDK adds expires_in (lifetime - 1 s) to its own clock.
  const expiresOn = Math.floor(token.expiresOnTimestamp / 1000);
  assert.ok(claims.exp - 5 <= expiresOn && expiresOn <= claims.exp, `${expiresOn} vs ${claims.exp}`);

  const listed = await getJson(`${emulator.baseUrl}/subscriptions?api-version=2022-12-01`, token.token);
  assert.equal(listed.status, 200);
  assert.deepEqual(
    listed.body.value.map((s) => s.subscriptionId),
    [emulator.subscriptionId],
  );
});

test("a wrong secret fails with AADSTS7000215", async () => {
  const wrong = emulator.credentialFor(emulator.adminClientId, "not-the-secret");
  await assert.rejects(wrong.getToken("https://management.azure.com/.default"), (e) => {
    assert.match(e.message, /AADSTS7000215/);
    return true;
  });
});

test("advanceClock moves the emulator's clock", async () => {
  const before = await emulator.now();
  const after = await emulator.advanceClock(3600);
  assert.equal(Date.parse(after) - Date.parse(before) >= 3600_000, true, `${before} -> ${after}`);
});

test("a Node process started with the banner's NODE_EXTRA_CA_CERTS trusts the emulator", async () => {
  const script = `const r = await fetch(process.argv[1] + "/_emulator/health"); console.log(r.status, await r.text());`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--input-type=module", "-e", script, emulator.baseUrl],
    { env: { ...process.env, NODE_EXTRA_CA_CERTS: emulator.env.NODE_EXTRA_CA_CERTS } },
  );
  assert.equal(stdout.trim(), '200 {"status":"ok"}');
});

test("startEmulator reports a binary that cannot start, with its output", async () => {
  await assert.rejects(startEmulator({ args: ["--no-such-flag"] }), /--no-such-flag/);
});
