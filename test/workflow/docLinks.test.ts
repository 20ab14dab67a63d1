/**
 * Every documentation link of the package lands on a heading of the README: its own `](#…)` links,
 * the credentials' `documentationUrl` and the nodes' codex documentation links, by GitHub's anchors.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const HOME = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { homepage: string }).homepage.replace(/#.*$/, '');

/** A heading's text as GitHub renders it: code spans, emphasis, links and images reduced to their text. */
function rendered(heading: string): string {
	return heading
		.replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
		.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
		.replace(/`([^`]*)`/g, '$1')
		.replace(/(\*\*|__|\*|_)(?=\S)([^*_]*?\S)\1/g, '$2')
		.replace(/<[^>]+>/g, '')
		.trim();
}

/** GitHub's anchor of a heading (github-slugger): lower case, punctuation dropped but - and _, spaces to -. */
function slug(text: string): string {
	return rendered(text)
		.toLowerCase()
		.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
		.replace(/ /g, '-');
}

/** Every anchor of a Markdown document, repeated headings numbered as GitHub numbers them (-1, -2, …). */
function anchors(markdown: string): Set<string> {
	const seen = new Map<string, number>();
	const out = new Set<string>();
	let fence: string | undefined;
	for (const line of markdown.split('\n')) {
		const opening = /^\s*(```|~~~)/.exec(line);
		if (opening) {
			if (!fence) fence = opening[1];
			else if (line.trim().startsWith(fence)) fence = undefined;
			continue;
		}
		if (fence) continue;
		const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
		if (!heading) continue;
		const base = slug(heading[1]);
		const count = seen.get(base) ?? 0;
		seen.set(base, count + 1);
		out.add(count === 0 ? base : `${base}-${count}`);
	}
	return out;
}

const readmeAnchors = anchors(README);

/** `documentationUrl` of every credential and the codex links of every node, with the file they are in. */
function packageLinks(): Array<{ file: string; url: string }> {
	const links: Array<{ file: string; url: string }> = [];
	for (const name of readdirSync(join(ROOT, 'credentials')).filter((f) => f.endsWith('.credentials.ts'))) {
		const text = readFileSync(join(ROOT, 'credentials', name), 'utf8');
		for (const match of text.matchAll(/documentationUrl\s*=\s*'([^']+)'/g)) links.push({ file: `credentials/${name}`, url: match[1] });
	}
	for (const node of readdirSync(join(ROOT, 'nodes')).filter((d) => d !== 'shared')) {
		const file = `nodes/${node}/${node}.node.json`;
		const codex = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { resources?: Record<string, Array<{ url: string }>> };
		for (const entries of Object.values(codex.resources ?? {})) for (const { url } of entries) links.push({ file, url });
	}
	return links;
}

describe('documentation links', () => {
	it('GitHub anchors as github-slugger makes them', () => {
		expect(slug('Credential: ComfyUI Cluster API')).toBe('credential-comfyui-cluster-api');
		expect(slug('Credential: ComfyUI Cluster Redis API (optional)')).toBe('credential-comfyui-cluster-redis-api-optional');
		expect(slug('ComfyUI Cluster (`bench/cluster`, one cost unit = 1 s of GPU work at speed 1)')).toBe('comfyui-cluster-benchcluster-one-cost-unit--1-s-of-gpu-work-at-speed-1');
		expect(slug('P6: 200 × 200 KB, 50 ms latency')).toBe('p6-200--200-kb-50-ms-latency');
		expect([...anchors('# A\n## A\n```\n# Not a heading\n```\n## A')]).toEqual(['a', 'a-1', 'a-2']);
	});

	it('every `](#…)` link of the README lands on one of its headings', () => {
		const links = [...README.matchAll(/\]\(#([^)\s]+)\)/g)].map((m) => m[1]);
		expect(links.length).toBeGreaterThan(0);
		expect(links.filter((anchor) => !readmeAnchors.has(decodeURIComponent(anchor)))).toEqual([]);
	});

	it('every credential documentationUrl and node codex link points at a README heading of the repository', () => {
		const links = packageLinks();
		expect(links.length).toBeGreaterThanOrEqual(4 + 2);
		const wrong = links.filter(({ url }) => {
			const [base, fragment] = url.split('#');
			return base !== HOME || !fragment || !readmeAnchors.has(fragment);
		});
		expect(wrong).toEqual([]);
	});
});
