// What the browser scripts (scripts/screenshot.mjs, scripts/editor-check.mjs) share: Debian's headless
// Chromium driven by playwright-core from the scratch install (on NODE_PATH), a page signed in as the owner
// that reaches only the local n8n (every other request is aborted, so the editor cannot call out), opening
// a workflow and closing overlays.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// Resolved through NODE_PATH (the scratch install), never from this repository.
const { chromium } = require('playwright-core');

const owner = { email: 'owner@example.com', firstName: 'Demo', lastName: 'Owner', password: 'E2e-screenshots-1' };

/** Debian's Chromium (CHROMIUM overrides the path), headless, without background traffic. */
export function launchBrowser() {
	return chromium.launch({
		executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
		headless: true,
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run',
		],
	});
}

/** A 1440×810 browser context in which only requests to `base` (and data:, blob:) go out. */
async function editorContext(browser, base) {
	const context = await browser.newContext({ viewport: { width: 1440, height: 810 }, deviceScaleFactor: 1 });
	const origin = new URL(base).origin;
	await context.route('**/*', (route) => {
		const url = route.request().url();
		if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
		return route.abort();
	});
	return context;
}

/** Creates the owner account on a fresh n8n (or signs in when it exists); the cookie lands in the browser context. */
async function signIn(context, base, log) {
	const setup = await context.request.post(`${base}/rest/owner/setup`, { data: owner, failOnStatusCode: false });
	log(`owner setup: HTTP ${setup.status()}`);
	if (!setup.ok()) {
		const login = await context.request.post(`${base}/rest/login`, {
			data: { emailOrLdapLoginId: owner.email, password: owner.password },
			failOnStatusCode: false,
		});
		if (!login.ok()) throw new Error(`sign-in failed: HTTP ${login.status()} ${await login.text()}`);
	}
	// Answering the personalization survey keeps its modal away (it is disabled anyway; harmless when so).
	await context.request.post(`${base}/rest/me/survey`, { data: { version: 'v4', personalization_survey_submitted_at: new Date().toISOString(), personalization_survey_n8n_version: '2.41.1' }, failOnStatusCode: false });
}

/** A page of a new browser context signed in to the n8n at `base` as its owner; the context too (its requests carry the cookie). */
export async function signedInPage(browser, base, log) {
	const context = await editorContext(browser, base);
	await signIn(context, base, log);
	const page = await context.newPage();
	page.setDefaultTimeout(30_000);
	return { context, page };
}

/** Opens the workflow `id` in the editor, once its canvas shows a node, without overlays. */
export async function openWorkflow(page, base, id) {
	await page.goto(`${base}/workflow/${id}`, { waitUntil: 'domcontentloaded' });
	await page.locator('[data-test-id="canvas-node"]').first().waitFor();
	await dismissOverlays(page);
}

/** Closes toasts, banners and welcome modals that would cover the canvas. */
export async function dismissOverlays(page, pressEscape = true) {
	if (pressEscape) await page.keyboard.press('Escape').catch(() => {});
	for (const selector of ['.el-notification__closeBtn', '[data-test-id="banner-close-button"]', '.el-dialog__headerbtn', '[data-test-id="close-button"]']) {
		const all = page.locator(selector);
		const count = await all.count().catch(() => 0);
		for (let i = 0; i < count; i++) await all.nth(i).click({ timeout: 2000 }).catch(() => {});
	}
}
