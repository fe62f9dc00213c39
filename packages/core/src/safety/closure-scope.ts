import type { InspectorSession, RemoteObject } from './inspector.js';

/**
 * Reads variables that a function closes over, through the inspector's view of its scopes
 * (`[[Scopes]]`, what DevTools shows). This is how a module-level cache inside one of Node's own
 * modules (not exported, not reachable from any object) is found by name on whatever Node runs,
 * instead of guessing its size from one version's source.
 */

const HANDOFF = Symbol.for('defrost.entropy.handoff');

interface PropertyDescriptor {
  readonly name: string;
  readonly value?: RemoteObject;
}

interface Properties {
  readonly result: PropertyDescriptor[];
  readonly internalProperties?: PropertyDescriptor[];
}

/** Turns a remote object of this thread's main context into the object itself. */
function localValue(session: InspectorSession, remote: RemoteObject): unknown {
  if (!remote.objectId) return remote.value;
  const slot = globalThis as unknown as Record<symbol, unknown>;
  try {
    session.post('Runtime.callFunctionOn', {
      objectId: remote.objectId,
      functionDeclaration: `function () { globalThis[Symbol.for(${JSON.stringify(HANDOFF.description)})] = this; }`,
    });
    return slot[HANDOFF];
  } finally {
    delete slot[HANDOFF];
  }
}

function remoteOf(session: InspectorSession, value: object): RemoteObject {
  const slot = globalThis as unknown as Record<symbol, unknown>;
  slot[HANDOFF] = value;
  try {
    return session.evaluate(`globalThis[Symbol.for(${JSON.stringify(HANDOFF.description)})]`);
  } finally {
    delete slot[HANDOFF];
  }
}

function properties(session: InspectorSession, objectId: string): Properties {
  return session.post<Properties>('Runtime.getProperties', {
    objectId,
    ownProperties: true,
    objectGroup: 'defrost',
  });
}

/**
 * The variables named in `names` among those `fn` closes over (innermost scope first; the global
 * scope is not searched). Variables V8 keeps on the stack rather than in a closure are invisible,
 * as they are to a debugger; a name not found is absent from the result.
 */
export function closureVariables(
  session: InspectorSession,
  fn: (...args: never[]) => unknown,
  names: readonly string[],
): Map<string, unknown> {
  const found = new Map<string, unknown>();
  const fnId = remoteOf(session, fn).objectId;
  if (!fnId) return found;
  const scopes = properties(session, fnId).internalProperties?.find((p) => p.name === '[[Scopes]]');
  const scopesId = scopes?.value?.objectId;
  if (!scopesId) return found;
  for (const scope of properties(session, scopesId).result) {
    if (!scope.value?.objectId || scope.value.description === 'Global') continue;
    for (const variable of properties(session, scope.value.objectId).result) {
      if (!names.includes(variable.name) || found.has(variable.name) || !variable.value) continue;
      found.set(variable.name, localValue(session, variable.value));
    }
  }
  return found;
}
