import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

/** Where the cluster's shared state lives; without it every n8n process keeps its own state in memory. */
export class ComfyUiClusterRedisApi implements ICredentialType {
	name = 'comfyUiClusterRedisApi';

	displayName = 'ComfyUI Cluster Redis API';

	documentationUrl = 'https://github.com/n8n-nodes-comfyui-cluster/n8n-nodes-comfyui-cluster#credential-comfyui-cluster-redis-api-optional';

	icon: Icon = { light: 'file:../icons/comfyui.svg', dark: 'file:../icons/comfyui.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Mode',
			name: 'mode',
			type: 'options',
			default: 'single',
			options: [
				{ name: 'Single Server', value: 'single' },
				{ name: 'Sentinel', value: 'sentinel' },
				{ name: 'Cluster', value: 'cluster' },
			],
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { mode: ['single'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 6379,
			displayOptions: { show: { mode: ['single'] } },
		},
		{
			displayName: 'Sentinels',
			name: 'sentinels',
			type: 'string',
			default: '',
			placeholder: 'sentinel-1:26379,sentinel-2:26379',
			description: 'Comma-separated host:port list of the Sentinel servers',
			displayOptions: { show: { mode: ['sentinel'] } },
		},
		{
			displayName: 'Master Name',
			name: 'sentinelName',
			type: 'string',
			default: 'mymaster',
			displayOptions: { show: { mode: ['sentinel'] } },
		},
		{
			displayName: 'Cluster Nodes',
			name: 'clusterNodes',
			type: 'string',
			default: '',
			placeholder: 'redis-1:6379,redis-2:6379,redis-3:6379',
			description: 'Comma-separated host:port list of some Redis Cluster nodes',
			displayOptions: { show: { mode: ['cluster'] } },
		},
		{
			displayName: 'Database Number',
			name: 'database',
			type: 'number',
			default: 0,
			displayOptions: { show: { mode: ['single', 'sentinel'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			description: 'Redis 6+ ACL user name; leave empty for the default user',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'boolean',
			default: false,
		},
		{
			displayName: 'Ignore SSL Issues (Insecure)',
			name: 'disableTlsVerification',
			type: 'boolean',
			default: false,
			displayOptions: { show: { ssl: [true] } },
		},
	];
}
