import { updateDisplayOptions, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import type { Runtime } from '../../../src/cluster';
import { clusterStatus } from '../../../src/cluster';

export const description = updateDisplayOptions({ show: { operation: ['clusterStatus'] } }, [] as INodeProperties[]);

/** One item per server: reachable, breaker, queue, cluster-wide in-flight, speeds, memory, last error, and a warning for entries that are one server. */
export async function execute(this: IExecuteFunctions, runtime: Runtime): Promise<INodeExecutionData[]> {
	const rows = await clusterStatus(runtime, this.getExecutionCancelSignal());
	return rows.map((row) => ({ json: row as unknown as IDataObject, pairedItem: { item: 0 } }));
}
