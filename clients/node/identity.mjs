// @azure/identity's ClientSecretCredential against a running emulator.
//
// Usage: node identity.mjs CONNECTION_FILE
// The emulator's CA comes from NODE_EXTRA_CA_CERTS, as users set it. Prints one JSON object.
import { readFileSync } from "node:fs";
import { ClientSecretCredential } from "@azure/identity";

const conn = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { tenant_id: tenant, admin } = conn;
// The emulator is not a well-known Microsoft host: no instance discovery.
const options = { authorityHost: conn.base_url, disableInstanceDiscovery: true };

const credential = new ClientSecretCredential(tenant, admin.client_id, admin.client_secret, options);
const token = await credential.getToken("https://management.azure.com/.default");

let wrongSecretError = null;
try {
  await new ClientSecretCredential(tenant, admin.client_id, "not-the-secret", options).getToken(
    "https://management.azure.com/.default",
  );
} catch (e) {
  wrongSecretError = `${e.name}: ${e.message}`;
}

console.log(
  JSON.stringify({
    token: token.token,
    expires_on_ms: token.expiresOnTimestamp,
    wrong_secret_error: wrongSecretError,
  }),
);
