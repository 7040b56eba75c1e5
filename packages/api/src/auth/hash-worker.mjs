// Runs bcrypt off the main thread: bcryptjs is pure JavaScript and ~300 ms a hash at cost 12.
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

parentPort.on('message', (job) => {
  try {
    const result =
      job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : bcrypt.compareSync(job.password, job.hash);
    parentPort.postMessage({ id: job.id, result });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String(err) });
  }
});
