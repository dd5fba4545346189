/**
 * The teacher of a federated distillation run, read from a file and checked before any work: it
 * must be a classifier .onnx scoring as many classes as the data has. Every client (every worker
 * of the simulation, every network client) then opens its own copy.
 */
import { readInputFile } from './files.js';
import { OnnxTeacher, type OrtRuntime } from 'edgefl';

export async function readTeacherFile(
  path: string,
  runtime: OrtRuntime,
  classes: number | undefined,
): Promise<Uint8Array> {
  const bytes = await readInputFile(path, `teacher ${path}`);
  const teacher = await OnnxTeacher.create(bytes, { runtime, name: `teacher ${path}` });
  try {
    if (classes !== undefined && teacher.classes !== classes)
      throw new Error(`teacher ${path} scores ${teacher.classes} classes, the data has ${classes}`);
  } finally {
    await teacher.release();
  }
  return bytes;
}
