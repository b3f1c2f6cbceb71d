// Drives crm-mcp's login and consent pages in headless Chromium with
// playwright-core (pinned in e2e/node/package.json). Called by
// browser_test.go; not meant to be run by hand, though it can be:
//
//   node consent.mjs '<json config>'
//
// The config names the browser, a scenario and its URLs; the script prints
// one JSON object describing what the browser saw (the Go test asserts on
// it) and exits 0, or prints {"error": ...} and exits 1. It only ever
// talks to the loopback URLs it is given.
//
// Scenarios:
//   approve, deny  open authorizeURL, log in on the login page, inspect the
//                  consent page (client name, dialogs, screenshot), click
//                  #approve or #deny and wait for the client's callback.
//   frame          embed controlURL (a frameable page), the login page and
//                  then (after logging in at the top level) the consent page
//                  in an iframe on framerURL (another origin) and report
//                  whether each rendered.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const cfg = JSON.parse(process.argv[2] ?? '{}');
// playwright-core is installed in e2e/node (cfg.nodeDir), not beside this
// script, so resolve it from there.
const { chromium } = createRequire(join(cfg.nodeDir, 'package.json'))('playwright-core');
const timeout = cfg.timeoutMs ?? 15000;
const out = { scenario: cfg.scenario, dialogs: [], console: [] };

// A hard bound on the whole run, whatever hangs.
const watchdog = setTimeout(() => {
  console.log(JSON.stringify({ ...out, error: 'watchdog: script took too long' }));
  process.exit(3);
}, timeout * 6);
watchdog.unref();

function requireLoopback(u) {
  const { protocol, hostname } = new URL(u);
  if (protocol !== 'http:' || !(hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]')) {
    throw new Error(`refusing non-loopback URL ${u}`);
  }
}
for (const k of ['authorizeURL', 'callbackPrefix', 'framerURL', 'controlURL']) {
  if (cfg[k]) requireLoopback(cfg[k]);
}

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  headless: true,
  chromiumSandbox: false, // --no-sandbox: we run as root in CI
  args: [
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
  timeout,
});

try {
  const context = await browser.newContext();
  context.setDefaultTimeout(timeout);
  // Everything the pages load must come from the loopback servers.
  await context.route('**/*', (route) => {
    try {
      requireLoopback(route.request().url());
    } catch {
      out.console.push(`blocked non-loopback request ${route.request().url()}`);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  watch(page);

  if (cfg.scenario === 'approve' || cfg.scenario === 'deny') {
    await login(page);
    out.consentURL = page.url();
    const name = page.locator('#client-name');
    out.clientNameText = await name.textContent();
    out.clientNameVisible = await name.isVisible();
    out.clientNameElements = await name.locator('*').count();
    // Anything the name injected would be an <img> somewhere on the page.
    out.imgCount = await page.locator('img').count();
    out.title = await page.title();
    if (cfg.screenshot) {
      await page.screenshot({ path: cfg.screenshot, fullPage: true });
      out.screenshot = cfg.screenshot;
    }
    // Give a would-be onerror handler a moment to fire.
    await page.waitForTimeout(300);
    const button = cfg.scenario === 'approve' ? '#approve' : '#deny';
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(cfg.callbackPrefix)),
      page.click(button),
    ]);
    out.finalURL = page.url();
    out.finalBody = (await page.locator('body').textContent())?.trim();
  } else if (cfg.scenario === 'frame') {
    // Control: a page without anti-framing headers renders in the same
    // harness, so a "blocked" verdict below means the headers worked.
    out.control = await frame(context, cfg.controlURL, 'p');
    await page.goto(cfg.authorizeURL);
    out.loginURL = page.url();
    out.frames = [await frame(context, out.loginURL, 'input[name=email]')];
    await login(page, true);
    out.consentURL = page.url();
    out.frames.push(await frame(context, out.consentURL, '#approve'));
  } else {
    throw new Error(`unknown scenario ${cfg.scenario}`);
  }
  clearTimeout(watchdog);
  console.log(JSON.stringify(out));
} catch (e) {
  console.log(JSON.stringify({ ...out, error: String(e?.stack ?? e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}

// watch records dialogs (dismissing them) and console messages.
function watch(page) {
  page.on('dialog', async (d) => {
    out.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('console', (m) => out.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => out.console.push(`pageerror: ${e.message}`));
}

// login opens authorizeURL (unless already there), expects the login page,
// signs in and waits for the consent page.
async function login(page, already) {
  if (!already) {
    await page.goto(cfg.authorizeURL);
    out.loginURL = page.url();
  }
  const u = new URL(page.url());
  if (u.pathname !== '/login') throw new Error(`expected the login page, landed on ${page.url()}`);
  out.loginClientName = await page.locator('main p strong').first().textContent().catch(() => null);
  await page.fill('input[name=email]', cfg.email);
  await page.fill('input[name=password]', cfg.password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/authorize/resume'),
    page.click('form [type=submit]'),
  ]);
  await page.locator('#approve').waitFor();
}

// frame opens the framer page embedding target in an iframe and reports
// what the frame shows and how the target's response came back.
async function frame(context, target, marker) {
  const page = await context.newPage();
  watch(page);
  const res = { target, console: [] };
  page.on('console', (m) => res.console.push(m.text()));
  page.on('response', (r) => {
    if (r.url() === target) {
      res.status = r.status();
      res.csp = r.headers()['content-security-policy'] ?? '';
      res.xfo = r.headers()['x-frame-options'] ?? '';
    }
  });
  page.on('requestfailed', (r) => {
    if (r.url() === target) res.requestFailed = r.failure()?.errorText ?? 'failed';
  });
  const u = new URL(cfg.framerURL);
  u.searchParams.set('src', target);
  await page.goto(u.href);
  // The iframe's load event fires for a blocked frame too (with an error
  // page); the framer page records it.
  await page.waitForFunction(() => window.frameLoaded === true);
  await page.waitForTimeout(200);
  const child = page.frames().find((f) => f !== page.mainFrame());
  res.frameURL = child ? child.url() : null;
  res.markerInFrame = child ? await child.locator(marker).count().catch(() => -1) : 0;
  res.frameText = child ? ((await child.locator('body').textContent().catch(() => '')) ?? '').trim().slice(0, 200) : '';
  res.sameOriginReadable = await page.evaluate(() => {
    try {
      return document.getElementById('f').contentDocument !== null;
    } catch {
      return false;
    }
  });
  await page.close();
  return res;
}
