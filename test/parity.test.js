// Forward parity with the reference PyTorch model: outputs, intermediate activations and BatchNorm
// running statistics of every golden fixture, with the recorded ProbSparse key samples injected.
import t from 'tap';

import { Informer } from '../dist/index.js';
import { fixturePaths, loadFixture, maxAbsDiff } from './helpers/fixtures.js';

const TOL = 1e-4;

for (const path of fixturePaths()) {
  const fx = loadFixture(path);
  const n = fx.samples.length / 2;
  const bnKeys = Object.keys(fx.tensors).filter((k) => k.startsWith('bn_after_train.'));

  t.test(`${fx.name}: train pass, then eval pass`, async (t) => {
    const model = Informer.fromStateDict(fx.config, fx.params);
    t.teardown(() => model.dispose());
    t.equal(model.sampleDraws().length, n, 'one ProbSparse draw per fixture sample call');
    const train = await model.forwardWithActivations(fx.batch, { mode: 'train', sampleIndices: fx.samples.slice(0, n) });
    t.same(train.output.shape, fx.tensors['output.train'].shape);
    t.ok(maxAbsDiff(train.output.data, fx.tensors['output.train'].data) < TOL, 'output.train');
    for (const [name, act] of Object.entries(train.activations)) {
      const ref = fx.tensors[`act.train.${name}`];
      t.ok(ref, `fixture has act.train.${name}`);
      t.ok(maxAbsDiff(act.data, ref.data) < TOL, `act.train.${name}`);
    }
    const state = model.stateDict();
    for (const k of bnKeys) {
      const name = k.slice('bn_after_train.'.length);
      t.ok(maxAbsDiff(state[name].data, fx.tensors[k].data) < 1e-5, `running stats ${name}`);
    }
    const evalRun = await model.forwardWithActivations(fx.batch, { mode: 'eval', sampleIndices: fx.samples.slice(n) });
    t.ok(maxAbsDiff(evalRun.output.data, fx.tensors['output.eval'].data) < TOL, 'output.eval');
    for (const [name, act] of Object.entries(evalRun.activations))
      t.ok(maxAbsDiff(act.data, fx.tensors[`act.eval.${name}`].data) < TOL, `act.eval.${name}`);
  });

  t.test(`${fx.name}: eval from bn_after_train buffers`, async (t) => {
    const params = { ...fx.params };
    for (const k of bnKeys) params[k.slice('bn_after_train.'.length)] = fx.tensors[k];
    const model = Informer.fromStateDict(fx.config, params);
    t.teardown(() => model.dispose());
    const out = model.forwardSync(fx.batch, { sampleIndices: fx.samples.slice(n) });
    t.ok(maxAbsDiff(out.data, fx.tensors['output.eval'].data) < TOL, 'output.eval (sync)');
    const outAsync = await model.forward(fx.batch, { sampleIndices: fx.samples.slice(n) });
    t.same(Array.from(outAsync.data), Array.from(out.data), 'async equals sync');
  });
}
