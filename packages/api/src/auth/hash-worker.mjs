// Runs bcrypt off the main thread: bcryptjs is pure JavaScript and ~300 ms a hash at cost 12.
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

// The lowest CPU priority, for this thread alone (on Linux a thread's nice value is its own): a
// storm of sign-ins then hashes only with the CPU that delivery, PostgreSQL and the event loop
// leave, instead of taking a core's fair share from them. Where that is refused, it stays as is.
try {
  setPriority(19);
} catch {
  /* not permitted here */
}

parentPort.on('message', (job) => {
  try {
    const result =
      job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : bcrypt.compareSync(job.password, job.hash);
    parentPort.postMessage({ id: job.id, result });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String(err) });
  }
});
