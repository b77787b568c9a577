// A pool of worker processes for jobs that each train a small model: one native thread per worker
// by default, so that N workers keep N cores busy with N tiny models, each job isolated in its own
// process. Each worker is forked from a module that calls serveJobs(); it receives an `init`
// value once, then runs one job at a time, reporting events and a result over IPC. Used by trainMany
// (many.ts) and by `tune`'s trial runner (lib/tune/pool.ts).
import { type ChildProcess, fork } from 'node:child_process';

/** A job failed in its worker: the error's class name and message. */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly errorName = 'Error',
  ) {
    super(message);
  }
}

type ToWorker<I, J> = { type: 'init'; init: I } | { type: 'run'; job: J } | { type: 'abort' };
type FromWorker<R, E> =
  | { type: 'ready' }
  | { type: 'event'; event: E }
  | { type: 'done'; result: R }
  | { type: 'error'; name: string; message: string };

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
}

export interface WorkerPoolOptions<I> {
  /** The worker module (it must call serveJobs). */
  module: URL;
  /** Worker processes at most. */
  slots: number;
  /** Native threads per worker (INFORMER_NUM_THREADS; 0: the addon's default). */
  threads: number;
  /** Sent to each worker once, when it starts (structured-clone serialisation). */
  init: I;
  /** Names the workers in messages ('a tuning worker'). */
  label?: string;
}

/** Worker processes running jobs of type J with results R and progress events E. */
export class WorkerPool<I, J, R, E> {
  readonly #workers: Worker[] = [];
  readonly #queue: (() => void)[] = [];
  constructor(readonly options: WorkerPoolOptions<I>) {}

  get slots(): number {
    return this.options.slots;
  }

  #spawn(): Worker {
    const env = { ...process.env };
    if (this.options.threads > 0) env.INFORMER_NUM_THREADS = String(this.options.threads);
    const label = this.options.label ?? 'a worker';
    const child = fork(this.options.module, [], { env, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker<R, E>) => {
        if (m.type !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null, signal: string | null) =>
        reject(new JobFailure(`${label} exited while starting (code ${code}, signal ${signal})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    ready.catch(() => undefined);
    child.send({ type: 'init', init: this.options.init } satisfies ToWorker<I, J>);
    const w: Worker = { child, ready, busy: false };
    this.#workers.push(w);
    return w;
  }

  /** Runs `job` in a free worker (waiting for one when all `slots` are busy); rejects with JobFailure. */
  async run(job: J, onEvent: (e: E) => void = () => undefined, describe = 'a job'): Promise<R> {
    const alive = (w: Worker) => w.child.exitCode === null && w.child.signalCode === null;
    for (let i = this.#workers.length - 1; i >= 0; i--) if (!alive(this.#workers[i]!)) this.#workers.splice(i, 1);
    let w = this.#workers.find((x) => !x.busy);
    if (w === undefined && this.#workers.length >= this.options.slots) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
      return this.run(job, onEvent, describe);
    }
    w ??= this.#spawn();
    w.busy = true;
    const worker = w;
    try {
      await worker.ready;
      return await new Promise<R>((resolve, reject) => {
        const cleanup = () => {
          worker.child.off('message', onMessage);
          worker.child.off('exit', onExit);
        };
        const onMessage = (m: FromWorker<R, E>) => {
          if (m.type === 'event') onEvent(m.event);
          else if (m.type === 'done') {
            cleanup();
            resolve(m.result);
          } else if (m.type === 'error') {
            cleanup();
            reject(new JobFailure(m.message, m.name));
          }
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          reject(new JobFailure(`${this.options.label ?? 'the worker'} running ${describe} exited (code ${code}, signal ${signal})`));
        };
        worker.child.on('message', onMessage);
        worker.child.once('exit', onExit);
        worker.child.send({ type: 'run', job } satisfies ToWorker<I, J>);
      });
    } finally {
      worker.busy = false;
      this.#queue.shift()?.();
    }
  }

  /** Asks every running job to stop (the worker's handler sees its AbortSignal fire). */
  abortAll(): void {
    for (const w of this.#workers) if (w.busy && w.child.connected) w.child.send({ type: 'abort' } satisfies ToWorker<I, J>);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.disconnect();
          }),
      ),
    );
    this.#workers.length = 0;
  }
}

/**
 * The worker side: call once at the top of a worker module. `setup` receives the init value;
 * `handle` runs one job, with an AbortSignal and a way to report events.
 */
export function serveJobs<I, J, R, E>(
  setup: (init: I) => void,
  handle: (job: J, signal: AbortSignal, emit: (e: E) => void) => Promise<R>,
): void {
  let abort: AbortController | undefined;
  const send = (m: FromWorker<R, E>): void => {
    process.send?.(m);
  };
  process.on('message', (msg: ToWorker<I, J>) => {
    if (msg.type === 'init') {
      setup(msg.init);
      send({ type: 'ready' });
    } else if (msg.type === 'abort') {
      abort?.abort();
    } else if (msg.type === 'run') {
      abort = new AbortController();
      handle(msg.job, abort.signal, (event) => send({ type: 'event', event })).then(
        (result) => send({ type: 'done', result }),
        (e: unknown) => send({ type: 'error', name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) }),
      );
    }
  });
  // The parent going away ends the worker (its IPC channel closes). Ctrl-C reaches the whole process
  // group: the parent decides (it asks running jobs to stop).
  process.on('disconnect', () => process.exit(0));
  process.on('SIGINT', () => undefined);
}
