/**
 * Revoking a device from outside the server process (`edgefl revoke`): a request is a small file
 * in the state folder's `revoke/` directory, written atomically. A running server looks there every
 * second, revokes the device (cutting its connection at once) and removes the request; a server
 * that is not running applies waiting requests when it starts, before any device can connect. The
 * folder's file permissions are the operator's authority: no network endpoint can revoke anyone.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@edgefl/node';
import { clientIdSchema } from '@edgefl/net';

export const REVOCATION_FOLDER = 'revoke';

/** Files that are a request (the atomic writer's temporary files are not). */
const REQUEST = /\.json$/;

/** Queues the revocation of `clientId` in the server state folder `stateDir`; returns the request's path. */
export async function requestRevocation(stateDir: string, clientId: string): Promise<string> {
  const id = clientIdSchema.safeParse(clientId);
  if (!id.success)
    throw new Error(`revoke: '${clientId.slice(0, 80)}' is not a client id (${id.error.issues[0].message})`);
  const dir = join(stateDir, REVOCATION_FOLDER);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${clientId}.json`);
  await writeFileAtomic(path, JSON.stringify({ clientId, requestedAt: new Date().toISOString() }) + '\n');
  return path;
}

/** Whether a request for `clientId` is still waiting (the server has not applied it yet). */
export function revocationPending(stateDir: string, clientId: string): boolean {
  return existsSync(join(stateDir, REVOCATION_FOLDER, `${clientId}.json`));
}

/**
 * Applies every waiting request with `revoke`, then removes it. A request naming no valid id is
 * removed and reported through `onProblem` (it could never apply), never thrown.
 */
export async function applyRevocationRequests(
  stateDir: string,
  revoke: (clientId: string) => Promise<unknown>,
  onProblem: (message: string) => void = () => {},
): Promise<string[]> {
  const dir = join(stateDir, REVOCATION_FOLDER);
  if (!existsSync(dir)) return [];
  const applied: string[] = [];
  for (const name of (await readdir(dir)).filter((n) => REQUEST.test(n))) {
    const path = join(dir, name);
    let clientId: unknown;
    try {
      clientId = (JSON.parse(await readFile(path, 'utf8')) as { clientId?: unknown }).clientId;
    } catch (e) {
      onProblem(`revocation request ${name} is not JSON (${(e as Error).message}); removed`);
    }
    if (clientId !== undefined && clientIdSchema.safeParse(clientId).success) {
      await revoke(clientId as string);
      applied.push(clientId as string);
    } else if (clientId !== undefined) onProblem(`revocation request ${name} names no client id; removed`);
    await rm(path, { force: true });
  }
  return applied;
}
