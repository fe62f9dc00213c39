/**
 * `node --import @defrost/core/early-entropy server.js`: gives the main thread's Math.random its
 * reseedable generator before any of the app's modules load. Without it, the generator is
 * installed at the first freeze, and a reference to Math.random a library kept from when it was
 * loaded (lodash's _.random and _.shuffle do) still points at V8's builtin, whose state every copy
 * shares. Also wraps vm's context-making functions from the start. Nothing else changes: the app
 * runs as it would, and a copy reseeds the generator as usual (entropy.ts).
 */
import { installSeededRandom } from './math-random.js';
import { freshSeed, wrapVmContextCreation } from './vm-contexts.js';

installSeededRandom(Math, freshSeed());
wrapVmContextCreation();
