/** File helpers for the Node adapters: atomic writes, so a crash never leaves a half-written file. */
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

let written = 0;

/**
 * Writes to a temporary file beside the target, flushes it, then renames it over the target and
 * flushes the folder (so the rename itself survives a power cut, not only a killed process). On any
 * failure (write, flush, close or rename) the temporary file is removed and the target is untouched.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // pid, time and a counter: concurrent writes, even of the same target, never share a temp file.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.${written++}.tmp`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await fh.writeFile(data);
    await fh.sync();
    const closing = fh;
    fh = undefined;
    await closing.close();
    await rename(tmp, path);
  } catch (e) {
    // The first failure is the one to report; cleaning up must not replace it.
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  await syncFolder(dirname(path));
}

/** Flushes a folder's entries to disk; where a platform cannot open folders (Windows) it is skipped. */
async function syncFolder(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Not supported here: the rename is still atomic, only its durability on power loss is the OS's.
  } finally {
    await fh?.close().catch(() => {});
  }
}

export async function readBytes(path: string): Promise<Uint8Array> {
  const b = await readFile(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A file's bytes, or an error that starts with `label` (by default the path) and says why: "no such
 * file", or the system's reason.
 */
export async function readInputFile(path: string, label = path): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${label}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
}
