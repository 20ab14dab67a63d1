// Screenshots of the n8n editor with this package's nodes, for the README.
// Run by `scripts/e2e-n8n.sh --screenshots` against an `n8n start` on 127.0.0.1, with the scratch folder's
// node_modules (playwright-core) on NODE_PATH and Debian's Chromium. Every request that does not go to the
// local n8n is aborted, so the editor cannot call out.
//   N8N_URL=http://127.0.0.1:5678 WORKFLOW_ID=... OUT_DIR=docs/images node scripts/screenshot.mjs
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dismissOverlays, launchBrowser, openWorkflow, signedInPage } from './browser.mjs';

const base = process.env.N8N_URL ?? 'http://127.0.0.1:5678';
const workflowId = process.env.WORKFLOW_ID;
const outDir = process.env.OUT_DIR ?? 'docs/images';
const clusterNodeName = process.env.CLUSTER_NODE ?? 'ComfyUI Cluster';
if (!workflowId) throw new Error('WORKFLOW_ID is required');

const log = (message) => process.stderr.write(`[screenshot] ${message}\n`);

async function main() {
	mkdirSync(outDir, { recursive: true });
	const browser = await launchBrowser();
	try {
		const { page } = await signedInPage(browser, base, log);
		await openWorkflow(page, base, workflowId);
		await executeInEditor(page);
		// Fit the whole workflow into view ("1" is the editor's zoom-to-fit key).
		await page.locator('[data-test-id="canvas-wrapper"], .vue-flow').first().click({ position: { x: 20, y: 20 } }).catch(() => {});
		await page.keyboard.press('1');
		await page.waitForTimeout(800);
		const canvasShot = join(outDir, 'workflow.png');
		await page.screenshot({ path: canvasShot });
		log(`${canvasShot} ${statSync(canvasShot).size} bytes`);

		const node = page.locator('[data-test-id="canvas-node"]').filter({ hasText: clusterNodeName }).first();
		await node.dblclick();
		await page.locator('[data-test-id="ndv"], .ndv-wrapper, [data-test-id="node-parameters"]').first().waitFor();
		await page.waitForTimeout(1000);
		// The output's JSON telemetry (server, attempts, timings) says more than the binary cards.
		await page.locator('[data-test-id="output-panel"]').getByText('Table', { exact: true }).first().click({ timeout: 5000 }).catch(() => log('no Table tab in the output panel'));
		await page.waitForTimeout(800);
		await dismissOverlays(page, false);
		const nodeShot = join(outDir, 'comfyui-cluster-node.png');
		await page.screenshot({ path: nodeShot });
		log(`${nodeShot} ${statSync(nodeShot).size} bytes`);
	} finally {
		await browser.close();
	}
}

/**
 * Runs the workflow from the editor (the simulated servers and local S3 are still up), so the canvas shows
 * item counts and the node panel shows real output. The screenshots are still taken when this fails.
 */
async function executeInEditor(page) {
	const button = page.locator('[data-test-id="execute-workflow-button"]').first();
	if (!(await button.isVisible().catch(() => false))) {
		log('no "Execute workflow" button; screenshots without a run');
		return;
	}
	await button.click();
	try {
		await page.getByText(/^\s*12 items\s*$/).first().waitFor({ timeout: 120_000 });
		log('workflow ran in the editor');
	} catch {
		log('the run in the editor did not show "12 items" within 120 s');
	}
	await page.waitForTimeout(1500);
	await dismissOverlays(page, false);
}

main().catch((error) => {
	log(error instanceof Error ? error.stack ?? error.message : String(error));
	process.exit(1);
});
