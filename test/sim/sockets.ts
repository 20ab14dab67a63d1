/** Decides which websocket receives each message: the socket of the prompt's client id, or every socket. */
import { WebSocket } from 'ws';
import { encodePng } from './media';

export interface ClientSocket {
	ws: WebSocket;
	sid: string;
	previewMetadata: boolean;
	gotFirstMessage: boolean;
}

/** The connected websockets, by client id as the real server keeps them, and every one for broadcasts. */
export class Sockets {
	private readonly bySid = new Map<string, ClientSocket>();
	private readonly all = new Set<ClientSocket>();

	add(client: ClientSocket): void {
		this.bySid.set(client.sid, client);
		this.all.add(client);
	}

	/** As the real server: the close pops the sid even if a newer socket took it over. */
	remove(client: ClientSocket): void {
		this.all.delete(client);
		this.bySid.delete(client.sid);
	}

	/** Drops every connection (each one's close event removes it). */
	terminateAll(): void {
		for (const c of this.all) c.ws.terminate();
	}

	/** Forgets every socket at once, as a process that went down. */
	clear(): void {
		this.all.clear();
		this.bySid.clear();
	}

	sendTo(client: ClientSocket, type: string, data: unknown): void {
		if (client.ws.readyState === WebSocket.OPEN) client.ws.send(JSON.stringify({ type, data }));
	}

	/** send_sync: to the socket of `sid`, or to every socket when sid is undefined. */
	send(sid: string | undefined, type: string, data: unknown): void {
		if (sid === undefined) {
			for (const c of this.all) this.sendTo(c, type, data);
			return;
		}
		const c = this.bySid.get(sid);
		if (c) this.sendTo(c, type, data);
	}

	/** Binary preview frame: type 1 (JPEG/PNG) to legacy sockets, type 4 with metadata to sockets that asked. */
	sendPreview(sid: string | undefined, promptId: string, nodeId: string, metadataPhase: boolean): void {
		const targets = sid === undefined ? [...this.all] : [this.bySid.get(sid)].filter((c): c is ClientSocket => !!c);
		const png = encodePng({ width: 8, height: 8, color: 0x336699 });
		for (const c of targets) {
			if (c.ws.readyState !== WebSocket.OPEN) continue;
			if (c.previewMetadata && metadataPhase) {
				const meta = Buffer.from(JSON.stringify({ node_id: nodeId, prompt_id: promptId, display_node_id: nodeId, parent_node_id: null, real_node_id: nodeId, image_type: 'image/png' }));
				const head = Buffer.alloc(8);
				head.writeUInt32BE(4, 0);
				head.writeUInt32BE(meta.length, 4);
				c.ws.send(Buffer.concat([head, meta, png]));
			} else if (!c.previewMetadata && !metadataPhase) {
				const head = Buffer.alloc(8);
				head.writeUInt32BE(1, 0);
				head.writeUInt32BE(2, 4); // PNG
				c.ws.send(Buffer.concat([head, png]));
			}
		}
	}
}
