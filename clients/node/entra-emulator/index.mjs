// Starts the Entra emulator binary for a Node.js test (node:test or any other runner) and hands
// the test its connection details.
//
//   import { startEmulator } from "entra-emulator-node";
//   const emulator = await startEmulator();            // HTTPS on 127.0.0.1, a free port
//   await emulator.credential.getToken("https://management.azure.com/.default");
//   await emulator.advanceClock(601);                  // past ARM's role propagation delay
//   await emulator.stop();
//
// The binary is ENTRA_EMULATOR_BIN if set, else `entra-emulator` on PATH (`cargo install
// --path emulator` in a clone of the emulator's repository).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Starts the emulator with extra `args` (say `["--rbac-propagation", "0s"]`) and waits for its
 * connection file.
 *
 * Options: `args`, `binary`, `env` (the child's environment), `timeoutMs`, and `identity`
 * (the `@azure/identity` module, for when this package cannot import it itself, e.g. when
 * installed as a link).
 */
export async function startEmulator({
  args = [],
  binary = process.env.ENTRA_EMULATOR_BIN || "entra-emulator",
  env = process.env,
  timeoutMs = 30_000,
  identity,
} = {}) {
  const workdir = mkdtempSync(join(tmpdir(), "entra-emulator-"));
  const connPath = join(workdir, "connection.json");
  const logPath = join(workdir, "emulator.log");
  const log = openSync(logPath, "w");
  // The generated CA goes under the temporary directory, removed on stop.
  const child = spawn(binary, ["--bind", "127.0.0.1:0", "--connection-file", connPath, ...args], {
    env: { ...env, TMPDIR: workdir },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (error) => resolve({ error }));
  });
  let ended = null;
  exited.then((how) => {
    ended = how;
  });
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(connPath)) {
    if (ended || Date.now() > deadline) {
      if (!ended) child.kill("SIGKILL");
      const how = ended ?? (await exited);
      const output = existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
      rmSync(workdir, { recursive: true, force: true });
      const why = how.error ? how.error.message : `exit ${how.code ?? how.signal}`;
      throw new Error(
        `${binary} did not start (${why}); set ENTRA_EMULATOR_BIN or put entra-emulator on PATH\n${output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const connection = JSON.parse(readFileSync(connPath, "utf8"));
  const { admin } = connection;
  const caCertPath = connection.ca_cert_path ?? null;
  const caBundlePath = connection.ca_bundle_path ?? caCertPath;
  const ca = caCertPath ? readFileSync(caCertPath, "utf8") : null;
  // Node reads NODE_EXTRA_CA_CERTS only at its start, so clients made in this process get the
  // CA through their options: `tlsOptions` for Azure SDK clients, `ca` for node:https.
  const tlsOptions = ca ? { ca } : undefined;
  if (!identity) {
    identity = await import("@azure/identity").catch(() => null);
  }

  const credentialFor = (clientId, clientSecret) =>
    identity
      ? new identity.ClientSecretCredential(connection.tenant_id, clientId, clientSecret, {
          // The emulator is not a well-known Microsoft host: no instance discovery.
          authorityHost: connection.base_url,
          disableInstanceDiscovery: true,
          tlsOptions,
        })
      : null;

  /** Calls the control API (`/_emulator/...`); resolves to the decoded JSON answer. */
  const control = (method, path, body) =>
    new Promise((resolve, reject) => {
      const url = new URL(`/_emulator/${path.replace(/^\//, "")}`, connection.base_url);
      const data = body === undefined ? null : JSON.stringify(body);
      const client = url.protocol === "https:" ? https : http;
      const request = client.request(
        url,
        { method, ca: ca ?? undefined, headers: data ? { "content-type": "application/json" } : {} },
        (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk) => (text += chunk));
          response.on("end", () => {
            if (response.statusCode >= 400) {
              reject(new Error(`${method} ${url.pathname}: ${response.statusCode} ${text}`));
            } else {
              resolve(text ? JSON.parse(text) : null);
            }
          });
        },
      );
      request.on("error", reject);
      request.end(data ?? undefined);
    });

  return {
    connection,
    baseUrl: connection.base_url,
    tenantId: connection.tenant_id,
    subscriptionId: connection.subscription_id,
    adminClientId: admin.client_id,
    adminClientSecret: admin.client_secret,
    adminObjectId: admin.object_id,
    caCertPath,
    caBundlePath,
    tlsOptions,
    /** What the emulator's banner exports, for child processes. */
    env: {
      AZURE_AUTHORITY_HOST: connection.base_url,
      AZURE_TENANT_ID: connection.tenant_id,
      AZURE_CLIENT_ID: admin.client_id,
      AZURE_CLIENT_SECRET: admin.client_secret,
      ...(caBundlePath && {
        REQUESTS_CA_BUNDLE: caBundlePath,
        SSL_CERT_FILE: caBundlePath,
        CURL_CA_BUNDLE: caBundlePath,
      }),
      ...(caCertPath && { NODE_EXTRA_CA_CERTS: caCertPath }),
    },
    /** @azure/identity's ClientSecretCredential for the bootstrap admin (null without it). */
    credential: credentialFor(admin.client_id, admin.client_secret),
    credentialFor,
    control,
    /** Moves the emulator's clock forward; resolves to its new time (RFC 3339). */
    advanceClock: async (seconds) => (await control("POST", "clock/advance", { seconds })).now,
    now: async () => (await control("GET", "clock")).now,
    reset: () => control("POST", "reset"),
    /** Stops the process (SIGTERM, SIGKILL after 10 s) and removes its files. */
    stop: async () => {
      if (!ended) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}
