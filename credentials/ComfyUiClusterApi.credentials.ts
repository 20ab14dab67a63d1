import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ComfyUiClusterApi implements ICredentialType {
	name = 'comfyUiClusterApi';

	displayName = 'ComfyUI Cluster API';

	documentationUrl = 'https://github.com/n8n-nodes-comfyui-cluster/n8n-nodes-comfyui-cluster#credential-comfyui-cluster-api';

	icon: Icon = { light: 'file:../icons/comfyui.svg', dark: 'file:../icons/comfyui.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Servers',
			name: 'servers',
			type: 'string',
			typeOptions: { rows: 6 },
			default: '',
			required: true,
			placeholder: 'http://gpu-1:8188 weight=2 max=3\nhttp://gpu-2:8188 tags=video\nhttps://comfy.example.com/comfy/ auth=bearer:TOKEN',
			description:
				'One ComfyUI server per line: URL, then optional weight=N (share of work), max=N (prompts held at once, default 2), tags=a,b and auth=none|bearer:TOKEN|basic:USER:PASS|header:NAME:VALUE. Lines starting with # are ignored. A JSON array of {url, weight, max, tags} works too.',
		},
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			default: 'none',
			description: 'Authentication sent to every server whose line has no auth= of its own (for servers behind a reverse proxy)',
			options: [
				{ name: 'None', value: 'none' },
				{ name: 'Bearer Token', value: 'bearer' },
				{ name: 'Basic Auth', value: 'basic' },
				{ name: 'Custom Header', value: 'header' },
			],
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['bearer'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			displayOptions: { show: { authentication: ['basic'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['basic'] } },
		},
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: '',
			placeholder: 'X-API-Key',
			displayOptions: { show: { authentication: ['header'] } },
		},
		{
			displayName: 'Header Value',
			name: 'headerValue',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['header'] } },
		},
		{
			displayName: 'Key Prefix',
			name: 'statePrefix',
			type: 'string',
			default: 'comfyui-cluster',
			description:
				'Prefix of the Redis keys that hold this cluster\'s shared state (a hash of the server list is added). Use a different prefix for clusters that must not share state.',
		},
	];
}
