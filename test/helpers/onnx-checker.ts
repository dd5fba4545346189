/**
 * Runs the official ONNX checker (Python `onnx` package, Debian's python3-onnx) with full shape
 * inference on model bytes. Tests call it on every kind of graph edgefl writes.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's interpreter, which has python3-onnx; another python3 on PATH may not. */
export const python =
  process.env.EDGEFL_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

export async function checkOnnxModel(bytes: Uint8Array): Promise<void> {
  const out = await onnxPython(bytes, [
    'onnx.checker.check_model(m, full_check=True)',
    'onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)',
    'print("ok")',
  ]);
  if (out.trim() !== 'ok') throw new Error(`ONNX checker said: ${out.trim()}`);
}

/**
 * Runs Python lines with the ONNX package on model bytes, loaded as `m`; resolves with what they
 * print. A model the package cannot load, or a failing line, rejects with Python's last lines.
 */
export function onnxPython(bytes: Uint8Array, lines: readonly string[]): Promise<string> {
  const script = [
    'import sys, onnx',
    'm = onnx.load_model_from_string(sys.stdin.buffer.read())',
    ...lines,
  ].join('\n');
  return new Promise<string>((resolve, reject) => {
    const p = spawn(python, ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) =>
      reject(
        new Error(
          `could not run the ONNX checker (python3 with the onnx package; 'bash scripts/setup-test-deps.sh' installs it): ${e.message}`,
        ),
      ),
    );
    p.on('close', (code) => {
      if (code === 0) resolve(out);
      else if (/No module named 'onnx'/.test(err))
        reject(
          new Error(
            "the ONNX checker needs Python's onnx package (Debian: python3-onnx); run 'bash scripts/setup-test-deps.sh'",
          ),
        );
      else
        reject(new Error(`ONNX checker rejected the model:\n${err.trim().split('\n').slice(-5).join('\n')}`));
    });
    p.stdin.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
