import type { Session } from 'node:inspector';

/**
 * A short-lived in-process inspector session on this thread's isolate: the only public way to
 * reach what Node keeps out of reach (closure variables of its built-in modules, every worker
 * thread). It never evaluates in a vm context: vm-contexts.ts says why. Sessions are opened for
 * one step and closed at once: while any session is connected, Node also hands every console
 * call to V8's inspector, which costs time and keeps the logged values alive.
 */
export interface RemoteObject {
  readonly type: string;
  readonly subtype?: string;
  readonly objectId?: string;
  readonly value?: unknown;
  readonly description?: string;
}

interface EvaluateResult {
  readonly result: RemoteObject;
  readonly exceptionDetails?: { readonly text: string; readonly exception?: RemoteObject };
}

/** Why no session can be opened on this Node, or undefined when one can. */
export function inspectorUnavailable(): string | undefined {
  if (!process.features.inspector) return 'this Node was built without the inspector';
  return undefined;
}

export class InspectorSession {
  readonly #session: Session;

  private constructor(session: Session) {
    this.#session = session;
  }

  /** Connects to this thread's isolate; throws with the reason when the inspector is missing. */
  static open(): InspectorSession {
    const missing = inspectorUnavailable();
    if (missing) throw new Error(missing);
    const { Session } = process.getBuiltinModule('node:inspector');
    const session = new Session();
    session.connect();
    return new InspectorSession(session);
  }

  /**
   * One protocol call on this thread. Node answers in-process sessions synchronously, so this
   * returns the result (or throws the protocol error) without yielding to the event loop.
   */
  post<T = unknown>(method: string, params: object = {}): T {
    let answered = false;
    let failure: Error | null = null;
    let result: unknown;
    this.#session.post(method, params, (error, value) => {
      answered = true;
      failure = error;
      result = value;
    });
    if (!answered) throw new Error(`inspector did not answer ${method} synchronously`);
    if (failure) throw failure;
    return result as T;
  }

  /** Evaluates in this thread's main context; throws the script's exception as an Error. */
  evaluate(expression: string): RemoteObject {
    const answer = this.post<EvaluateResult>('Runtime.evaluate', {
      expression,
      objectGroup: 'defrost',
      silent: true,
    });
    if (answer.exceptionDetails) {
      const detail = answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text;
      throw new Error(detail.split('\n')[0]);
    }
    return answer.result;
  }

  close(): void {
    try {
      this.post('Runtime.releaseObjectGroup', { objectGroup: 'defrost' });
    } finally {
      this.#session.disconnect();
    }
  }
}
