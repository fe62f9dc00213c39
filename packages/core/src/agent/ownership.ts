import { access, open } from 'node:fs/promises';

/**
 * Which process answers a checkpoint request. The launcher's variables (and the agent preload in
 * NODE_OPTIONS) reach every node process the command starts: `npm start` runs npm, then a shell,
 * then the app; an app may fork workers. The first of them to listen on a port claims the request
 * by creating a file next to the progress file exclusively (O_EXCL, atomic across processes);
 * the others stand by.
 */
/** Whether a process of the command claimed the request already. */
export function requestClaimed(progressFile: string | undefined): Promise<boolean> {
  if (!progressFile) return Promise.resolve(false);
  return access(`${progressFile}.owner`).then(
    () => true,
    () => false,
  );
}

export async function claimRequest(progressFile: string | undefined): Promise<boolean> {
  if (!progressFile) return true;
  try {
    const file = await open(`${progressFile}.owner`, 'wx', 0o600);
    await file.writeFile(String(process.pid));
    await file.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
