// oauth-client.mjs drives crm-mcp's OAuth 2.1 authorization server and MCP
// endpoint with the official TypeScript SDK client (@modelcontextprotocol/sdk,
// pinned in package.json), headlessly:
//
//   Client + StreamableHTTPClientTransport + an OAuthClientProvider kept in
//   memory. The first connect gets 401; the SDK discovers the protected
//   resource metadata (RFC 9728) from WWW-Authenticate, then the
//   authorization server metadata (RFC 8414), registers a client (RFC 7591)
//   and calls redirectToAuthorization. There this script plays the user's
//   browser with a cookie-keeping fetch: /authorize → /login (form post with
//   the e-mail and password from the environment) → /authorize/resume → the
//   consent page (tx and csrf parsed) → POST /consent action=approve → the
//   redirect to redirect_uri, whose code goes to transport.finishAuth. Then it
//   connects, lists tools, spoils the stored access token so the next request
//   gets 401 and the SDK refreshes with the stored refresh token, and lists
//   tools again.
//
// Usage: node oauth-client.mjs MCP_URL
// Environment: OAUTH_E2E_EMAIL, OAUTH_E2E_PASSWORD (the CRM login).
//
// It prints one JSON summary on stdout (diagnostics go to stderr) and exits 0
// when the whole flow ran, 1 otherwise (the summary then carries "error").
// Loopback only: it refuses any MCP URL that is not on 127.0.0.0/8,
// localhost or [::1], and every request it makes has a timeout.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const REQUEST_TIMEOUT_MS = 10_000;
const REDIRECT_URI = 'http://127.0.0.1:33419/callback'; // never listened on: the browser step stops at the redirect

const summary = {
  sdkVersion: null,
  mcpUrl: null,
  requests: [], // what the SDK sent, in order: {method, path, status, grantType?}
  browser: [], // what the headless browser step sent: {method, path, status}
  discovery: null, // what the SDK saved as its discovery state
  registration: null, // what the SDK saved after dynamic registration
  authorizationRequest: null, // parameters of the URL given to redirectToAuthorization
  redirects: 0, // redirectToAuthorization calls
  tokenSaves: [], // {hasAccess, hasRefresh, tokenType, scope, expiresIn, issuer}
  server: null,
  toolLists: [], // tool names of each tools/list
  refresh: null,
  error: null,
};

function log(...args) {
  console.error('[oauth-client]', ...args);
}

function isLoopback(u) {
  const h = u.hostname;
  return h === 'localhost' || h === '[::1]' || /^127(\.\d{1,3}){3}$/.test(h);
}

function withTimeout(init = {}) {
  const signals = [AbortSignal.timeout(REQUEST_TIMEOUT_MS)];
  if (init.signal) signals.push(init.signal);
  return { ...init, signal: AbortSignal.any(signals) };
}

// sdkFetch is the fetch the SDK uses for MCP, discovery, registration and
// token requests; it records each one.
async function sdkFetch(input, init) {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (!isLoopback(url)) throw new Error(`refusing non-loopback request to ${url.origin}`);
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const entry = { method, path: url.pathname };
  if (url.pathname.endsWith('/token') && init?.body) {
    entry.grantType = new URLSearchParams(String(init.body)).get('grant_type');
  }
  const res = await fetch(input, withTimeout(init));
  entry.status = res.status;
  summary.requests.push(entry);
  return res;
}

// Browser is a minimal cookie-keeping user agent that does not follow
// redirects by itself, so every hop can be checked.
class Browser {
  constructor(origin) {
    this.origin = origin;
    this.cookies = new Map();
  }

  async request(method, url, body) {
    const u = new URL(url, this.origin);
    if (u.origin !== this.origin) throw new Error(`browser step left the server: ${u.href}`);
    const headers = {};
    if (this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = this.origin; // a same-origin form post, as a browser sends it
    }
    const res = await fetch(u, withTimeout({ method, headers, body, redirect: 'manual' }));
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    summary.browser.push({ method, path: u.pathname, status: res.status });
    return { status: res.status, location: res.headers.get('location'), text };
  }
}

function hiddenInputs(html) {
  const out = {};
  for (const m of html.matchAll(/name="(tx|csrf)" value="([^"]+)"/g)) out[m[1]] = m[2];
  return out;
}

// authorizeHeadlessly plays the user: sign in, approve, and return the
// redirect back to the client (not followed).
async function authorizeHeadlessly(authorizationUrl, email, password) {
  const browser = new Browser(new URL(authorizationUrl).origin);
  let res = await browser.request('GET', authorizationUrl);
  for (let hop = 0; hop < 8; hop++) {
    if (res.status === 302 || res.status === 303) {
      const next = new URL(res.location, authorizationUrl);
      if (next.href.startsWith(REDIRECT_URI)) return next;
      if (next.pathname === '/login') {
        const page = await browser.request('GET', next.href);
        const { tx } = hiddenInputs(page.text);
        if (!tx) throw new Error(`login page without tx (status ${page.status})`);
        res = await browser.request('POST', '/login', new URLSearchParams({ email, password, tx }).toString());
        if (res.status !== 303) throw new Error(`login failed: status ${res.status}`);
        continue;
      }
      res = await browser.request('GET', next.href);
      continue;
    }
    if (res.status === 200) {
      const { tx, csrf } = hiddenInputs(res.text);
      if (!tx || !csrf) throw new Error('expected the consent page with tx and csrf');
      res = await browser.request('POST', '/consent', new URLSearchParams({ tx, csrf, action: 'approve' }).toString());
      continue;
    }
    throw new Error(`unexpected status ${res.status} during authorization`);
  }
  throw new Error('too many hops during authorization');
}

// MemoryProvider is an OAuthClientProvider that keeps everything in memory.
class MemoryProvider {
  constructor(email, password) {
    this.email = email;
    this.password = password;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._discovery = undefined;
    this.pendingCode = undefined;
  }

  get redirectUrl() {
    return REDIRECT_URI;
  }

  get clientMetadata() {
    return {
      client_name: 'crm-mcp e2e (TypeScript SDK)',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    return randomBytes(16).toString('base64url');
  }

  clientInformation() {
    return this._client;
  }

  saveClientInformation(info) {
    this._client = info;
    summary.registration = {
      client_id: info.client_id,
      has_client_secret: Boolean(info.client_secret),
      token_endpoint_auth_method: info.token_endpoint_auth_method,
      redirect_uris: info.redirect_uris,
      issuer: info.issuer,
    };
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this._tokens = tokens;
    summary.tokenSaves.push({
      hasAccess: typeof tokens.access_token === 'string' && tokens.access_token.length > 0,
      hasRefresh: typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 0,
      tokenType: tokens.token_type,
      scope: tokens.scope,
      expiresIn: tokens.expires_in,
      issuer: tokens.issuer,
    });
  }

  saveCodeVerifier(v) {
    this._verifier = v;
  }

  codeVerifier() {
    if (!this._verifier) throw new Error('no code verifier saved');
    return this._verifier;
  }

  saveDiscoveryState(state) {
    this._discovery = state;
    summary.discovery = {
      authorizationServerUrl: state.authorizationServerUrl,
      resourceMetadataUrl: state.resourceMetadataUrl,
      resource: state.resourceMetadata?.resource,
      resourceAuthorizationServers: state.resourceMetadata?.authorization_servers,
      issuer: state.authorizationServerMetadata?.issuer,
      authorizationEndpoint: state.authorizationServerMetadata?.authorization_endpoint,
      tokenEndpoint: state.authorizationServerMetadata?.token_endpoint,
      registrationEndpoint: state.authorizationServerMetadata?.registration_endpoint,
    };
  }

  discoveryState() {
    return this._discovery;
  }

  async redirectToAuthorization(authorizationUrl) {
    summary.redirects++;
    const p = authorizationUrl.searchParams;
    summary.authorizationRequest = {
      endpoint: authorizationUrl.origin + authorizationUrl.pathname,
      response_type: p.get('response_type'),
      client_id: p.get('client_id'),
      redirect_uri: p.get('redirect_uri'),
      code_challenge_method: p.get('code_challenge_method'),
      has_code_challenge: Boolean(p.get('code_challenge')),
      has_state: Boolean(p.get('state')),
      resource: p.get('resource'),
      scope: p.get('scope'),
    };
    const back = await authorizeHeadlessly(authorizationUrl.href, this.email, this.password);
    const err = back.searchParams.get('error');
    if (err) throw new Error(`authorization refused: ${err} ${back.searchParams.get('error_description') ?? ''}`);
    if (p.get('state') && back.searchParams.get('state') !== p.get('state')) throw new Error('state mismatch');
    summary.authorizationRequest.iss = back.searchParams.get('iss');
    this.pendingCode = back.searchParams.get('code');
    if (!this.pendingCode) throw new Error('no code in the redirect');
  }

  // spoilAccessToken keeps the refresh token but makes the access token
  // unusable, as an expired one would be.
  spoilAccessToken() {
    this._tokens = { ...this._tokens, access_token: 'spoiled-' + this._tokens.access_token.slice(0, 8) };
  }
}

async function toolNames(client) {
  const res = await client.listTools();
  return res.tools.map((t) => t.name).sort();
}

async function main() {
  const mcpUrl = new URL(process.argv[2] ?? '');
  if (!isLoopback(mcpUrl)) throw new Error(`MCP URL must be loopback, got ${mcpUrl.origin}`);
  summary.mcpUrl = mcpUrl.href;
  const email = process.env.OAUTH_E2E_EMAIL;
  const password = process.env.OAUTH_E2E_PASSWORD;
  if (!email || !password) throw new Error('OAUTH_E2E_EMAIL and OAUTH_E2E_PASSWORD are required');
  const pkg = new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url);
  summary.sdkVersion = JSON.parse(await readFile(pkg, 'utf8')).version;

  const provider = new MemoryProvider(email, password);
  const newClient = () => new Client({ name: 'crm-mcp-e2e-ts', version: '1.0.0' });
  const newTransport = () => new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch: sdkFetch });

  // First attempt: 401 → discovery → registration → authorization.
  let transport = newTransport();
  let client = newClient();
  try {
    await client.connect(transport);
    throw new Error('connected without authorization: the server did not challenge');
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  if (!provider.pendingCode) throw new Error('UnauthorizedError without an authorization code');
  await transport.finishAuth(provider.pendingCode);
  await client.close().catch(() => {});

  // Second attempt: with the token.
  transport = newTransport();
  client = newClient();
  await client.connect(transport);
  summary.server = client.getServerVersion() ?? null;
  summary.toolLists.push(await toolNames(client));

  // Force a refresh: the server answers 401 to the spoiled access token and
  // the SDK's auth() refreshes with the stored refresh token, then retries.
  const before = provider.tokens();
  provider.spoilAccessToken();
  summary.toolLists.push(await toolNames(client));
  const after = provider.tokens();
  summary.refresh = {
    accessTokenChanged: after.access_token !== before.access_token && !after.access_token.startsWith('spoiled-'),
    refreshTokenRotated: Boolean(after.refresh_token) && after.refresh_token !== before.refresh_token,
    tokenRequests: summary.requests.filter((r) => r.path.endsWith('/token')).map((r) => `${r.grantType}:${r.status}`),
  };
  await client.close();
}

const watchdog = setTimeout(() => {
  summary.error = 'timed out';
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exit(1);
}, 60_000);
watchdog.unref();

try {
  await main();
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exitCode = 0;
} catch (e) {
  log(e?.stack ?? String(e));
  summary.error = e?.message ?? String(e);
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exitCode = 1;
}
