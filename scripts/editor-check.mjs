// The two nodes as users find them in the n8n editor. Run by `scripts/e2e-n8n.sh --editor` against an
// `n8n start` on 127.0.0.1 with the package installed, in Debian's headless Chromium (scripts/browser.mjs).
// In a workflow with a Manual Trigger it opens the node creator ("What happens next?"), types each search
// term users type and checks that the node is among the results; then adds each node to the canvas from
// there and checks the labels of its credential pickers. Prints one line per check, PASS or FAIL, and exits
// non-zero when any fails; docs/images/node-creator-search.png shows the results of the first term.
//   N8N_URL=http://127.0.0.1:5678 OUT_DIR=docs/images node scripts/editor-check.mjs
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, openWorkflow, signedInPage } from './browser.mjs';

const base = process.env.N8N_URL ?? 'http://127.0.0.1:5678';
const outDir = process.env.OUT_DIR ?? 'docs/images';
const CLUSTER = 'ComfyUI Cluster';
const STORAGE = 'Cloud Image Storage';

/** Search term → the node it must list. */
const SEARCHES = [
	['ComfyUI', CLUSTER],
	['comfy', CLUSTER],
	['Cluster', CLUSTER],
	['Stable Diffusion', CLUSTER],
	['image generation', CLUSTER],
	['S3', STORAGE],
	['R2', STORAGE],
	['Cloudflare Images', STORAGE],
	['upload', STORAGE],
];

/** The node added from the results of a term, the action chosen, and the credential pickers it must show. */
const CANVAS = [
	{ node: CLUSTER, term: 'ComfyUI', action: 'Generate images or video', labels: ['ComfyUI Servers', 'Shared State (Redis)'] },
	{ node: STORAGE, term: 'S3', action: 'Upload binary files', labels: ['S3-Compatible Storage'] },
];

const log = (message) => process.stderr.write(`[editor] ${message}\n`);
const lines = [];
const check = (ok, text) => {
	lines.push(`${ok ? 'PASS' : 'FAIL'} ${text}`);
	console.log(lines.at(-1));
};

const SEARCH_BAR = '[data-test-id="node-creator-search-bar"]';
const ITEM_NAMES = '[data-test-id="node-creator"] [data-test-id="node-creator-item-name"]';

async function main() {
	mkdirSync(outDir, { recursive: true });
	const browser = await launchBrowser();
	try {
		const { context, page } = await signedInPage(browser, base, log);
		await openWorkflow(page, base, await createWorkflow(context));

		await openNodeCreator(page);
		for (const [i, [term, node]] of SEARCHES.entries()) {
			const names = await search(page, term, node);
			const at = names.indexOf(node);
			check(at >= 0, `node creator search "${term}": ${at >= 0 ? `${node} listed, ${ordinal(at + 1)} of ${names.length}` : `${node} not among the ${names.length} results (${names.slice(0, 8).join(', ') || 'none'})`}`);
			if (i === 0) {
				const shot = join(outDir, 'node-creator-search.png');
				await page.screenshot({ path: shot });
				log(`${shot} ${statSync(shot).size} bytes`);
			}
		}

		for (const { node, term, action, labels } of CANVAS) {
			let shown = [];
			let failure = '';
			try {
				shown = await addToCanvas(page, node, term, action);
			} catch (error) {
				const message = error instanceof Error ? error.message : String(error);
				failure = `; ${message.split('\n')[0]}`;
				log(`adding ${node}: ${message}`);
			}
			const missing = labels.filter((label) => !shown.includes(label));
			check(missing.length === 0, `${node} on the canvas: credential pickers ${missing.length === 0 ? labels.map((l) => `"${l}"`).join(', ') : `lack ${missing.map((l) => `"${l}"`).join(', ')} (shown: ${shown.map((l) => `"${l}"`).join(', ') || 'none'}${failure})`}`);
		}
	} finally {
		await browser.close();
	}
	const failed = lines.filter((line) => line.startsWith('FAIL')).length;
	console.log(failed ? `=== ${failed} of ${lines.length} check(s) FAILED ===` : `=== all ${lines.length} checks passed ===`);
	process.exitCode = failed ? 1 : 0;
}

/** A workflow holding only a Manual Trigger, as after a user's first step; its id. */
async function createWorkflow(context) {
	const response = await context.request.post(`${base}/rest/workflows`, {
		data: {
			name: 'Editor check',
			nodes: [{ id: '8f0b5d6e-6a53-4c4e-9f6e-2d1c1b7f3a10', name: 'When clicking ‘Execute workflow’', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} }],
			connections: {},
			settings: {},
		},
		failOnStatusCode: false,
	});
	if (!response.ok()) throw new Error(`creating the workflow failed: HTTP ${response.status()} ${await response.text()}`);
	const { data } = await response.json();
	log(`workflow ${data.id} with a Manual Trigger`);
	return data.id;
}

/** Opens the node creator with the canvas's "+" button (after a trigger: "What happens next?"), unless it is open. */
async function openNodeCreator(page) {
	const bar = page.locator(SEARCH_BAR);
	if (!(await bar.isVisible())) await page.locator('[data-test-id="node-creator-plus-button"]').click();
	await bar.waitFor();
}

/**
 * Types `term` into the node creator's search and returns the names listed, once `node` is among them or
 * after 10 s. The search is emptied first, so no name is left from the term before.
 */
async function search(page, term, node) {
	const bar = page.locator(SEARCH_BAR);
	await bar.fill('');
	await page.waitForFunction(([selector, name]) => ![...document.querySelectorAll(selector)].some((e) => e.textContent?.trim() === name), [ITEM_NAMES, node]);
	await bar.pressSequentially(term, { delay: 30 });
	await page
		.waitForFunction(([selector, name]) => [...document.querySelectorAll(selector)].some((e) => e.textContent?.trim() === name), [ITEM_NAMES, node], { timeout: 10_000 })
		.catch(() => {});
	// Let the list settle (it renders as the search debounces).
	await page.waitForTimeout(500);
	return (await page.locator(ITEM_NAMES).allTextContents()).map((name) => name.trim()).filter(Boolean);
}

/**
 * Adds `node` to the canvas the way a user does: the "+" button, `term`, the node among the results, then
 * `action` among its actions; the node's panel opens. Returns the labels of its credential pickers.
 */
async function addToCanvas(page, node, term, action) {
	await openNodeCreator(page);
	await search(page, term, node);
	await page.locator(ITEM_NAMES).filter({ hasText: new RegExp(`^\\s*${node}\\s*$`) }).first().click();
	await page.locator(ITEM_NAMES).filter({ hasText: new RegExp(`^\\s*${action}\\s*$`) }).first().click();
	const labels = page.locator('[data-test-id="credentials-label"]');
	await labels.first().waitFor();
	await page.waitForTimeout(500);
	const shown = [];
	for (const text of await labels.allInnerTexts()) shown.push(text.split('\n')[0].trim());
	log(`${node}: credential pickers ${shown.join(' | ')}`);
	// Closes the node's panel.
	await page.keyboard.press('Escape');
	await page.waitForTimeout(500);
	return shown;
}

function ordinal(n) {
	const suffix = n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th';
	return `${n}${suffix}`;
}

main().catch((error) => {
	log(error instanceof Error ? error.stack ?? error.message : String(error));
	process.exit(1);
});
