// run_ort.js - time ONNX Runtime (onnxruntime-node) on the graphs from
// make_onnx.py, in the same shape as bench_encoder: batch 32, seq 128/256,
// 1 and 2 threads. Prints tokens/s per (model, threads, seq).
//
//   node bench/ort/run_ort.js MODEL.onnx [MODEL2.onnx ...] [--iters N] [--threads 1,2] [--seqs 128,256]
'use strict';
const ort = require('onnxruntime-node');

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
}

async function main() {
  const models = process.argv.slice(2).filter((a, i, all) => a.endsWith('.onnx'));
  const iters = parseInt(arg('--iters', '3'), 10);
  const threads = arg('--threads', '1,2').split(',').map(Number);
  const seqs = arg('--seqs', '128,256').split(',').map(Number);
  const batch = 32;
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  console.log('model                      thr  seq   tokens/s  ms/batch');
  for (const path of models) {
    for (const th of threads) {
      const sess = await ort.InferenceSession.create(path, {
        intraOpNumThreads: th, interOpNumThreads: 1, graphOptimizationLevel: 'all',
        executionMode: 'sequential',
      });
      for (const seq of seqs) {
        const ids = new BigInt64Array(batch * seq);
        for (let b = 0; b < batch; b++) {
          for (let t = 0; t < seq; t++) ids[b * seq + t] = BigInt(1000 + Math.floor(rnd() * 14000));
          ids[b * seq] = 101n;
          ids[b * seq + seq - 1] = 102n;
        }
        const feeds = { input_ids: new ort.Tensor('int64', ids, [batch, seq]) };
        let best = Infinity;
        for (let it = 0; it <= iters; it++) {
          const t0 = process.hrtime.bigint();
          await sess.run(feeds);
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (it > 0 && ms < best) best = ms;
        }
        const name = path.split('/').pop().padEnd(26);
        console.log(`${name} ${String(th).padStart(3)} ${String(seq).padStart(4)} ` +
                    `${(batch * seq / (best / 1000)).toFixed(0).padStart(10)} ${best.toFixed(1).padStart(9)}`);
      }
      await sess.release();
    }
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
