import { CancelledError, ExecutionError, IncapableServerError, InvalidWorkflowError, TransientServerError, type ComfyUiError } from '../comfyui/errors';
import { decideFailure, type FailedAttempt, type SceneHistory } from './failure';
import type { ServerAdmission } from './planning/candidates';

const backoff = { initialMs: 1000, maxMs: 4000, factor: 2, jitter: 0 };
const server = (id: string, over: Partial<ServerAdmission> = {}): ServerAdmission => ({ id, breakerOpen: false, unreachable: false, ...over });
const three = [server('a'), server('b'), server('c')];
const on = (error: ComfyUiError, over: Partial<FailedAttempt> = {}): FailedAttempt => ({ error, serverId: 'a', serverUrl: 'http://a', refusedBeforeQueued: false, cancelled: false, ...over });
const history = (over: Partial<SceneHistory> = {}): SceneHistory => ({ incapable: new Set(), failedOn: new Set(), transientTries: 0, maxAttempts: 3, overTime: false, ...over });
const network = () => new TransientServerError('socket hang up', 'network', 'http://a');
const execution = (details: Partial<ExecutionError['details']>) => new ExecutionError('node failed', { promptId: 'p', ...details });

describe('decideFailure: cancelled and moved', () => {
	it('a cancelled execution settles the scene as cancelled and counts nothing against the server', () => {
		const verdict = decideFailure(on(network(), { cancelled: true }), history(), three, backoff);
		expect(verdict).toMatchObject({ record: 'cancelled', store: 'cancelled', next: 'settle', reason: 'the execution was cancelled' });
		expect(verdict.error).toBeInstanceOf(CancelledError);
		expect(decideFailure(on(new CancelledError()), history(), three, backoff).record).toBe('cancelled');
	});

	it('a scene given up because its server went silent before it started moves at once, using no attempt', () => {
		const verdict = decideFailure(on(network(), { abandoned: { kind: 'moved', reason: 'http://a stopped answering' } }), history(), three, backoff);
		expect(verdict).toMatchObject({ record: 'moved', store: 'cancelled', next: 'requeue', delayMs: 0, retry: false, reason: 'http://a stopped answering' });
		expect(verdict.exclude).toBeUndefined();
	});
});

describe('decideFailure: the server cannot run the scene', () => {
	it('a missing model there leaves that server out and sends the scene elsewhere at once', () => {
		const missing = new InvalidWorkflowError('bad ckpt', [{ nodeId: '4', type: 'value_not_in_list', message: 'x', details: '', inputName: 'ckpt_name' }]);
		const verdict = decideFailure(on(missing), history(), three, backoff);
		expect(verdict).toMatchObject({ record: 'incapable', store: 'workflow', exclude: 'incapable', next: 'requeue', delayMs: 0 });
	});

	it('refused credentials (401/403) are the server’s own, not the workflow’s', () => {
		const verdict = decideFailure(on(new TransientServerError('forbidden', 'unexpected-response', 'http://a', 403)), history(), three, backoff);
		expect(verdict).toMatchObject({ record: 'incapable', exclude: 'incapable', next: 'requeue' });
	});

	it('fails the scene once no server is left that can run it', () => {
		const error = new IncapableServerError('no node class', { nodeClasses: ['X'], values: [] });
		const verdict = decideFailure(on(error), history({ incapable: new Set(['b', 'c']) }), three, backoff);
		expect(verdict).toMatchObject({ record: 'incapable', next: 'settle' });
		expect(verdict.error).toBe(error);
	});
});

describe('decideFailure: the workflow’s own fault', () => {
	it('an invalid graph settles at once', () => {
		const error = new InvalidWorkflowError('bad graph', [{ nodeId: '3', type: 'required_input_missing', message: 'x', details: '' }]);
		expect(decideFailure(on(error), history(), three, backoff)).toMatchObject({ record: 'invalid', store: 'workflow', next: 'settle' });
	});

	it('a node exception settles at once; out of memory or an interrupt by someone else is the machine’s and retries', () => {
		expect(decideFailure(on(execution({ exceptionType: 'ValueError' })), history(), three, backoff)).toMatchObject({ record: 'execution', next: 'settle' });
		expect(decideFailure(on(execution({ exceptionMessage: 'CUDA out of memory' })), history(), three, backoff)).toMatchObject({ record: 'transient', store: 'transient', next: 'requeue' });
		expect(decideFailure(on(execution({ interrupted: true })), history(), three, backoff)).toMatchObject({ record: 'transient', next: 'requeue' });
	});
});

describe('decideFailure: transient failures', () => {
	it('goes at once to a server that has not failed the scene, leaving this one out for it', () => {
		expect(decideFailure(on(network()), history(), three, backoff)).toMatchObject({ record: 'transient', exclude: 'failedOn', next: 'requeue', delayMs: 0, retry: true });
	});

	it('backs off when every candidate has failed the scene, and honours a longer Retry-After', () => {
		const failedEverywhere = history({ failedOn: new Set(['b', 'c']), transientTries: 1 });
		expect(decideFailure(on(network()), failedEverywhere, three, backoff)).toMatchObject({ next: 'requeue', delayMs: 2000 });
		const busy = new TransientServerError('busy', 'http-5xx', 'http://a', 503, 3500);
		expect(decideFailure(on(busy), failedEverywhere, three, backoff)).toMatchObject({ delayMs: 3500 });
	});

	it('settles after Max Attempts or once its Total Timeout has passed', () => {
		expect(decideFailure(on(network()), history({ transientTries: 2 }), three, backoff)).toMatchObject({ record: 'transient', next: 'settle' });
		expect(decideFailure(on(network()), history({ overTime: true }), three, backoff)).toMatchObject({ next: 'settle' });
	});

	it('a refused connection before anything was queued uses no attempt while another server answers, and is news for every scene', () => {
		const refused = new TransientServerError('ECONNREFUSED', 'refused', 'http://a');
		const verdict = decideFailure(on(refused, { refusedBeforeQueued: true }), history({ transientTries: 2 }), three, backoff);
		expect(verdict).toMatchObject({ record: 'unreachable', refused: true, next: 'requeue', delayMs: 0 });
		const alone = [server('a'), server('b', { unreachable: true })];
		expect(decideFailure(on(refused, { refusedBeforeQueued: true }), history({ transientTries: 2 }), alone, backoff)).toMatchObject({ record: 'transient', next: 'settle' });
	});

	it('a running scene given up on a silent server fails there as unresponsive', () => {
		const silent = decideFailure(on(network(), { abandoned: { kind: 'failed', reason: 'stopped answering' } }), history(), three, backoff);
		expect(silent).toMatchObject({ record: 'transient', next: 'requeue', reason: 'stopped answering' });
		expect(silent.error).toMatchObject({ reason: 'unresponsive' });
	});
});
