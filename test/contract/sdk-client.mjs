// Runs @saintno/comfyui-sdk (ESM only) against a simulator: queue one prompt, wait through the SDK's own
// websocket handling, download the image it reports. Prints one JSON line with what happened.
import { ComfyApi, CallWrapper, PromptBuilder } from '@saintno/comfyui-sdk';

const url = process.argv[2];
const deadline = setTimeout(() => {
	process.stdout.write(JSON.stringify({ ok: false, error: 'timeout' }) + '\n');
	process.exit(2);
}, 20000);

const workflow = {
	'1': { class_type: 'EmptyImage', inputs: { width: 64, height: 48, batch_size: 1, color: 255 } },
	'2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
	'3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'sdk/out' } },
};

try {
	const api = new ComfyApi(url, 'sdk-client-1');
	await api.init(5, 200).waitForReady();
	const events = [];
	const builder = new PromptBuilder(workflow, ['color'], ['images'])
		.setInputNode('color', '1.inputs.color')
		.setOutputNode('images', '3')
		.input('color', 1234);
	const result = await new CallWrapper(api, builder)
		.onPending((id) => events.push(['pending', id]))
		.onStart((id) => events.push(['start', id]))
		.onProgress((info) => events.push(['progress', info.value]))
		.onFailed((err) => events.push(['failed', String(err?.message ?? err)]))
		.run();
	const images = result?.images?.images ?? [];
	const downloads = [];
	for (const img of images) {
		const res = await fetch(api.getPathImage(img));
		const buf = Buffer.from(await res.arrayBuffer());
		downloads.push({ status: res.status, type: res.headers.get('content-type'), head: buf.subarray(0, 8).toString('hex'), bytes: buf.length });
	}
	process.stdout.write(JSON.stringify({ ok: true, promptId: result?._promptId, images, downloads, events }) + '\n');
	api.destroy();
	clearTimeout(deadline);
	process.exit(0);
} catch (err) {
	process.stdout.write(JSON.stringify({ ok: false, error: String(err?.stack ?? err) }) + '\n');
	process.exit(1);
}
