// End-to-end tests of the web app: a real `cassetto serve` with demo data, driven in headless
// Debian Chromium by playwright-core. Screenshots of the main pages go to ./artifacts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '../..');
const bin = process.env.CASSETTO_BIN ?? join(root, 'target/debug/cassetto');
const artifacts = join(import.meta.dirname, 'artifacts');
const PASSWORD = 'Cassetto2026!';
mkdirSync(artifacts, { recursive: true });

let server, browser, base;

function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); });
  });
}

before(async () => {
  const data = mkdtempSync(join(tmpdir(), 'cassetto-e2e-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    CASSETTO_DATA_DIR: data,
    CASSETTO_BIND: `127.0.0.1:${port}`,
    CASSETTO_SPA_DIR: join(root, 'frontend/dist'),
    CASSETTO_WORKER_POLL_MS: '200',
  };
  delete env.CASSETTO_DATABASE_URL;
  execFileSync(bin, ['seed-demo'], { env, stdio: 'ignore' });
  server = spawn(bin, ['serve'], { env, stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

async function signIn(page, username) {
  await page.goto(`${base}/accesso`);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=utente]');
}

async function signOut(page) {
  await page.click('text=Esci');
  await page.waitForURL(/\/accesso/);
}

async function axeCheck(page, name) {
  await page.addScriptTag({ content: readFileSync(join(import.meta.dirname, 'node_modules/axe-core/axe.min.js'), 'utf8') });
  const result = await page.evaluate(async () =>
    await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${name}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), []);
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Rome' });

test('a company sends a request with two files, finds it by each filter, and sees the operator\'s comment and esito', async () => {
  const context = await browser.newContext({ locale: 'it-IT', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  await signIn(page, 'azienda.rossi');
  await page.waitForURL(/\/richieste/);
  await page.click('text=Nuova richiesta');
  await page.waitForSelector('#ambito option[value=REGOLARITA_CONTRIBUTIVA]', { state: 'attached' });
  await page.selectOption('#ambito', 'REGOLARITA_CONTRIBUTIVA');
  await page.fill('#d-period_from', '2026-01');
  await page.fill('#d-period_to', '2026-03');
  await page.fill('#subject', 'Verifica DURC dal browser');
  await page.fill('#body', 'Chiediamo la verifica dei versamenti del primo trimestre.');
  await page.setInputFiles('#files', [
    { name: 'quietanze.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% quietanze\n%%EOF\n') },
    { name: 'dipendenti.csv', mimeType: 'text/csv', buffer: Buffer.from('matricola;dipendenti\n7002000011;42\n') },
  ]);
  assert.equal(await page.locator('[data-testid=allegati-scelti] li').count(), 2);
  await shot(page, 'nuova-richiesta');
  await page.click('text=Invia la richiesta');
  const protocollo = (await page.locator('[data-testid=protocollo]').textContent()).trim();
  assert.match(protocollo, /^INPS\.7002\.\d{2}\/\d{2}\/\d{4}\.\d{7}$/);

  // The archive finds it by each filter, set in the form or in a bookmarked URL.
  await page.goto(`${base}/richieste`);
  await page.fill('#f-subject', 'durc dal browser');
  await page.click('button:has-text("Cerca")');
  await page.waitForURL(/subject=durc/);
  await page.waitForSelector(`text=${protocollo}`);
  await shot(page, 'archivio');
  for (const q of [`matricola=7002000011`, `status=aperta`, `ambito=REGOLARITA_CONTRIBUTIVA`,
    `protocollo=${encodeURIComponent(protocollo)}`, `opened_from=${today}&opened_to=${today}`,
    `updated_from=${today}&updated_to=${today}`, `subject=DURC&status=aperta&ambito=REGOLARITA_CONTRIBUTIVA`]) {
    await page.goto(`${base}/richieste?${q}`);
    await page.waitForSelector(`[data-testid=archivio] >> text=${protocollo}`, { timeout: 10000 });
  }
  await page.goto(`${base}/richieste?status=chiusa&subject=${encodeURIComponent('dal browser')}`);
  await page.waitForSelector('[data-testid=vuoto]');
  await page.goto(`${base}/richieste?protocollo=${encodeURIComponent(protocollo)}`);
  await page.click(`text=${protocollo}`);
  await page.waitForSelector('[data-testid=allegati] li');
  assert.equal(await page.locator('[data-testid=allegati] li').count(), 2);
  await shot(page, 'dettaglio-richiesta');
  await signOut(page);

  // The operator of the sede works it in the desk.
  await signIn(page, 'operatore.roma');
  await page.waitForURL(/\/sportello/);
  await shot(page, 'sportello');
  await page.goto(`${base}/sportello?protocollo=${encodeURIComponent(protocollo)}`);
  await page.click(`text=${protocollo}`);
  await page.click('text=Prendi in carico');
  await page.waitForSelector('text=Quesito preso in carico.');
  await page.fill('#q-commento', 'Stiamo verificando i versamenti di febbraio.');
  await page.click('text=Aggiungi il commento');
  await page.waitForSelector('text=Commento aggiunto.');
  await page.fill('#q-commento', 'Nota interna: controllare con il FEA.');
  await page.click('label[for=q-interno]');
  await page.click('text=Aggiungi il commento');
  await page.waitForSelector('[data-testid=commenti] >> text=Nota interna');
  await shot(page, 'quesito');
  await page.selectOption('#q-esito', 'accolta');
  await page.fill('#q-esito-testo', 'I versamenti risultano regolari: il DURC è stato aggiornato.');
  await page.click('text=Chiudi il quesito');
  await page.waitForSelector('[data-testid=esito]');
  await signOut(page);

  // The company sees the comment and the esito, never the internal note.
  await signIn(page, 'azienda.rossi');
  await page.goto(`${base}/richieste?protocollo=${encodeURIComponent(protocollo)}`);
  await page.click(`text=${protocollo}`);
  await page.waitForSelector('[data-testid=esito]');
  assert.match(await page.locator('[data-testid=esito]').textContent(), /Accolta.*DURC è stato aggiornato/s);
  assert.match(await page.locator('[data-testid=commenti]').textContent(), /versamenti di febbraio/);
  assert.doesNotMatch(await page.content(), /Nota interna/);
  assert.equal((await page.locator('[data-testid=stato]').first().textContent()).trim(), 'Chiusa');
  await context.close();
});

async function apiToken(username) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}

async function apiPost(token, path, body) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status === 200 || res.status === 201, `${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

test('HTML and scripts stored in a subject and in comments are shown as text, never run', async () => {
  // Arrange: hostile text in the subject, the body, a company comment and an operator comment.
  const img = '<img src=x onerror="window.__xss=1">';
  const script = '<script>window.__xss=2</script>';
  const rossi = await apiToken('azienda.rossi');
  const sent = await apiPost(rossi, '/api/v1/requests', {
    matricola: '7002000011', ambito: 'GENERICA', subject: `Oggetto ${img}`, body: `Testo ${script}`, details: {},
  });
  await apiPost(rossi, `/api/v1/requests/${sent.id}/comments`, { body: `Azienda ${img}` });
  const operatore = await apiToken('operatore.roma');
  await apiPost(operatore, `/api/v1/quesiti/${sent.id}/comments`, { body: `Operatore ${script}${img}`, internal: false });
  const context = await browser.newContext({ locale: 'it-IT' });
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });

  // Act: the company and the operator open it.
  await signIn(page, 'azienda.rossi');
  await page.goto(`${base}/richieste/${sent.id}`);
  await page.waitForSelector('[data-testid=commenti] >> text=Operatore');
  const companyView = await page.locator('main').textContent();
  const companyImgs = await page.locator('main img[src=x]').count();
  await signOut(page);
  await signIn(page, 'operatore.roma');
  await page.goto(`${base}/sportello/${sent.id}`);
  await page.waitForSelector('[data-testid=commenti] >> text=Azienda');
  const operatorView = await page.locator('main').textContent();

  // Assert: the markup is there as characters, no element was made from it, nothing ran.
  for (const view of [companyView, operatorView]) {
    assert.ok(view.includes(img), 'the <img> text is shown literally');
    assert.ok(view.includes(script), 'the <script> text is shown literally');
  }
  assert.equal(companyImgs, 0);
  assert.equal(await page.locator('main img[src=x]').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(dialogs, []);
  await context.close();
});

test('an expired session goes back to sign-in with a message, and deep links open the app', async () => {
  const context = await browser.newContext({ locale: 'it-IT' });
  const page = await context.newPage();
  await signIn(page, 'azienda.rossi');
  await page.evaluate(() => {
    const s = JSON.parse(localStorage.getItem('cassetto.session'));
    s.token = 'scaduto';
    localStorage.setItem('cassetto.session', JSON.stringify(s));
  });
  await page.goto(`${base}/richieste?status=aperta`);
  await page.waitForURL(/\/accesso\?motivo=scaduta/);
  await page.waitForSelector('text=La sessione è scaduta');
  await context.close();
});

test('the main pages have no serious or critical accessibility violations', async () => {
  const context = await browser.newContext({ locale: 'it-IT', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/accesso`);
  await page.waitForSelector('#username');
  await axeCheck(page, 'accesso');
  await shot(page, 'accesso');
  await signIn(page, 'studio.verdi');
  for (const [path, ready, name] of [
    ['/richieste', '[data-testid=totale]', 'archivio'],
    ['/richieste/nuova', '#subject', 'nuova-richiesta'],
  ]) {
    await page.goto(`${base}${path}`);
    await page.waitForSelector(ready);
    await axeCheck(page, name);
  }
  await page.goto(`${base}/richieste`);
  await page.click('[data-testid=archivio] tbody tr:first-child a');
  await page.waitForSelector('[data-testid=cronologia]');
  await axeCheck(page, 'dettaglio');
  await signOut(page);
  await signIn(page, 'supervisore');
  await page.goto(`${base}/monitoraggio`);
  await page.waitForSelector('[data-testid=indicatori]');
  await axeCheck(page, 'monitoraggio');
  await shot(page, 'monitoraggio');
  await page.goto(`${base}/sportello`);
  await page.waitForSelector('[data-testid=coda]');
  await axeCheck(page, 'sportello');
  await page.click('[data-testid=coda] tbody tr:first-child a');
  await page.waitForSelector('[data-testid=cronologia]');
  await axeCheck(page, 'quesito');
  await context.close();
});
