/**
 * `node --import @defrost/core/early-entropy server.js` (the zero-code agent loads it too): makes
 * per-copy randomness reach what is made before the first checkpoint. Without it, Math.random's
 * reseedable generator is installed at the first checkpoint, and what the app took before keeps
 * V8's state, which every copy shares: a reference to Math.random a library kept at load (lodash
 * does), a vm context made at start-up. And worker threads can only be reached by joining the
 * channel this sets up in each of them (`--import` runs in every worker started from a file).
 * Nothing else changes: the app runs as it would, and a copy reseeds as usual (entropy.ts).
 */
import { installSeededRandom } from './math-random.js';
import { prepareThisWorker, reseedThisWorker } from './thread-entropy.js';
import { freshSeed, wrapVmContextCreation } from './vm-contexts.js';
import { joinWorkerChannel } from './worker-channel.js';

installSeededRandom(Math, freshSeed());
wrapVmContextCreation();
joinWorkerChannel((step) => (step === 'prepare' ? prepareThisWorker() : reseedThisWorker()));
