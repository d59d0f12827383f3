// Starts the provider emulators (Azure AD, an oidc-provider authorization server, Webex) in this,
// Playwright's main process, then one production server per database on an empty data folder
// pointed at them; reads the administrator's one-time password from its console (as a first-time
// user would), and stops everything afterwards. Specs reach the emulators through the state file and
// a small control endpoint (they run in worker processes): sign-ins, echo faults, echoed requests.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Client } from "pg";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { createActivityFeed } from "../fixtures/activity-feed-emulator";
import { echoOf, faults, type BaseEmulator, type RecordedRequest, type TokenFault } from "../fixtures/http-emulator";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { createWebexEmulator, type WebexEmulator } from "../fixtures/webex-emulator";
import {
  PG_DATABASE,
  ROOT,
  SERVERS,
  STATE_FILE,
  TMP,
  callbackUrlOf,
  type EchoedRequest,
  type EmulatorState,
  type FaultRequest,
} from "./servers";

const CONTOSO = {
  tid: "41463f53-8812-40f4-890f-865bf6e35190",
  name: "Contoso",
  adminUpn: "admin@contoso.onmicrosoft.com",
  adminName: "Adele Vance",
  domains: ["contoso.onmicrosoft.com"],
};
const AZURE_APP = { clientId: "8f2c6a1e-6d3b-4a57-9c1e-2b7d9e0f4a11", clientSecret: "e2e~azure.secret_0123456789" };
const WEBEX_APP = {
  clientId: "C0e2e0webex0integration0client0id",
  clientSecret: "e2e0webex0client0secret",
  headlessRedirect: "https://127.0.0.1/",
};

interface Emulators {
  azure: AzureAdEmulator;
  oidc: OidcServer;
  webex: WebexEmulator;
  control: http.Server;
  state: EmulatorState;
}

/** A fault a spec asks for (POST /fault): an echo of the request, or one cut to 200 characters in `error`. */
function faultFrom(f: FaultRequest): TokenFault {
  const cut = (req: RecordedRequest) => ({
    error: `${req.headers.authorization ?? ""} ${req.rawBody}`.trim().slice(0, 200),
    ...(f.errorCodes ? { error_codes: f.errorCodes } : {}),
  });
  const described = (req: RecordedRequest) => ({ error: f.error, error_description: `Bad request: ${echoOf(req)}` });
  const fault: TokenFault =
    f.echo === "error-cut"
      ? { status: f.status ?? 400, body: cut }
      : f.echo === "error_description" && f.error
        ? { status: f.status ?? 401, body: described }
        : faults.echo(f.echo, f.status);
  return f.path ? { ...fault, path: f.path } : fault;
}

const echoedOf = (emu: BaseEmulator): EchoedRequest[] =>
  emu.requests
    .filter((r) => r.fault)
    .map((r) => ({
      url: r.url,
      authorization: typeof r.headers.authorization === "string" ? r.headers.authorization : null,
      form: r.form,
      query: r.query,
    }));

async function startEmulators(): Promise<Emulators> {
  const callbacks = (providerId: string) => SERVERS.map((s) => callbackUrlOf(s.url, providerId));
  const started: Array<{ close(): Promise<void> }> = [];
  try {
    const azure = await createAzureAdEmulator({
      tenants: [CONTOSO],
      apps: [{ ...AZURE_APP, displayName: "Consentry e2e", redirectUris: callbacks("microsoft-365-management") }],
      // the Activity API, whose webhook validation reaches the server's listener over HTTP
      activityFeed: createActivityFeed(),
    });
    started.push(azure);
    // Secrets with characters that need form-encoding (no surrounding spaces: people paste them trimmed).
    const oidc = await createOidcServer({
      redirectUris: callbacks("generic-oauth2"),
      clientSecrets: { post: "post+e2e/=:&%~secret", basic: "basic+e2e/=:&%~secret" },
      ttl: { AccessToken: 3600, RefreshToken: 86400 },
    });
    started.push(oidc);
    const webex = await createWebexEmulator({
      integrations: [
        {
          clientId: WEBEX_APP.clientId,
          clientSecret: WEBEX_APP.clientSecret,
          redirectUris: [WEBEX_APP.headlessRedirect, ...callbacks("webex")],
          scopes: ["spark:people_read", "spark:kms"],
        },
      ],
    });
    started.push(webex);

    // Workers cannot call the emulators' methods: they POST here instead. Azure's sign-in is set as
    // the default (it sticks until changed), not queued: a spec that fails before consuming a queued
    // sign-in would otherwise hand it to the next spec.
    const byName: Record<FaultRequest["emulator"], BaseEmulator> = { azure, oidc, webex };
    const control = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          const echoed = /^\/echoed\?emulator=(azure|oidc|webex)$/.exec(req.url ?? "");
          if (req.method === "GET" && echoed) {
            res
              .writeHead(200, { "content-type": "application/json" })
              .end(JSON.stringify(echoedOf(byName[echoed[1] as FaultRequest["emulator"]])));
            return;
          }
          const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {};
          if (req.method !== "POST") throw new Error("POST only");
          if (req.url === "/azure/sign-in") azure.setDefaultSignIn(body);
          else if (req.url === "/webex/next-sign-in") webex.setNextSignIn(body);
          else if (req.url === "/oidc/next-interaction") oidc.setNextInteraction(body);
          else if (req.url === "/fault")
            byName[(body as FaultRequest).emulator].failNext(faultFrom(body as FaultRequest));
          else {
            res.writeHead(404).end();
            return;
          }
          res.writeHead(204).end();
        } catch (e) {
          res.writeHead(400, { "content-type": "text/plain" }).end(String(e));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      control.once("error", reject);
      control.listen(0, "127.0.0.1", () => resolve());
    });
    started.push({ close: () => new Promise<void>((r) => control.close(() => r())) });

    const state: EmulatorState = {
      control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
      azure: {
        url: azure.url,
        clientId: AZURE_APP.clientId,
        clientSecret: AZURE_APP.clientSecret,
        tenant: { tid: CONTOSO.tid, name: CONTOSO.name, adminName: CONTOSO.adminName, adminUpn: CONTOSO.adminUpn },
      },
      oidc: {
        url: oidc.url,
        authorizationUrl: oidc.endpoints.authorization,
        tokenUrl: oidc.endpoints.token,
        userinfoUrl: oidc.endpoints.userinfo,
        clientId: oidc.clients.post.client_id,
        clientSecret: oidc.clients.post.client_secret,
      },
      webex: {
        url: webex.url,
        clientId: WEBEX_APP.clientId,
        clientSecret: WEBEX_APP.clientSecret,
        redirectUri: WEBEX_APP.headlessRedirect,
        displayName: webex.person.displayName,
      },
    };
    return { azure, oidc, webex, control, state };
  } catch (e) {
    for (const s of started.reverse()) await s.close().catch(() => {});
    throw e;
  }
}

async function pgAdmin(sql: string) {
  const c = new Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "postgres" });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function start(env: Record<string, string>, logFile: string): Promise<{ child: ChildProcess; password: string }> {
  return new Promise((resolve, reject) => {
    // `npm start`'s server from the sources: node with tsx's loader, no wrapper process
    const child = spawn(process.execPath, ["--import", "tsx", "lib/cli/start.ts"], {
      cwd: ROOT,
      env: { ...process.env, ...env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log = fs.createWriteStream(logFile);
    let out = "";
    let password = "";
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`server did not start in 120 s; see ${logFile}`));
    }, 120_000);
    const onData = (d: Buffer) => {
      log.write(d);
      out += d.toString();
      password ||= /Password: (\S+)/.exec(out)?.[1] ?? "";
      if (out.includes("Consentry is listening")) {
        clearTimeout(timer);
        if (!password) {
          child.kill("SIGTERM");
          reject(new Error("the first start printed no administrator password"));
        } else resolve({ child, password });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}; see ${logFile}`)));
  });
}

export default async function globalSetup() {
  if (!fs.existsSync(path.join(ROOT, ".next", "BUILD_ID")))
    throw new Error("No production build: run `npm run build` first (npm test does).");
  fs.mkdirSync(TMP, { recursive: true });
  await pgAdmin(`DROP DATABASE IF EXISTS "${PG_DATABASE}" WITH (FORCE)`);
  await pgAdmin(`CREATE DATABASE "${PG_DATABASE}"`);
  // Emulators first: the servers' configuration names their (dynamic) ports.
  const emu = await startEmulators();
  const closeEmulators = async () => {
    await Promise.all([
      emu.azure.close(),
      emu.oidc.close(),
      emu.webex.close(),
      new Promise<void>((r) => emu.control.close(() => r())),
    ]).catch(() => {});
  };
  const providerEnv = {
    CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS: "true",
    CONSENTRY_PROVIDER_HOSTS: JSON.stringify({
      "https://login.windows.net": emu.azure.url,
      "https://manage.office.com": emu.azure.url,
      "https://webexapis.com": emu.webex.url,
    }),
  };
  const children: ChildProcess[] = [];
  const state: Record<string, unknown> = { emulators: emu.state };
  try {
    // Both servers start side by side (each takes seconds); a failed start still stops the other.
    const results = await Promise.allSettled(
      SERVERS.map(async (s) => {
        fs.rmSync(s.env.CONSENTRY_DATA_DIR!, { recursive: true, force: true });
        const started = await start({ ...s.env, ...providerEnv }, path.join(TMP, `e2e-server-${s.kind}.log`));
        children.push(started.child);
        state[s.kind] = { url: s.url, adminPassword: started.password };
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  } catch (e) {
    for (const c of children) c.kill("SIGTERM");
    await closeEmulators();
    throw e;
  }
  fs.writeFileSync(STATE_FILE, JSON.stringify(state));
  return async () => {
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await closeEmulators();
    const errors = [...emu.azure.serverErrors, ...emu.oidc.serverErrors, ...emu.webex.serverErrors];
    if (errors.length) console.warn(`provider emulators: ${errors.length} handler error(s):`, errors);
    await pgAdmin(`DROP DATABASE IF EXISTS "${PG_DATABASE}" WITH (FORCE)`).catch(() => {});
  };
}
