/**
 * Whether one of Node's own modules is loaded in this thread, from Node's list of what it loaded:
 * asking for the module (or a lazy global backed by it) would load it, and the point is to leave
 * alone what the app never used.
 */
export function isBuiltinLoaded(id: string): boolean {
  return (process as unknown as { moduleLoadList: string[] }).moduleLoadList.includes(`NativeModule ${id}`);
}
