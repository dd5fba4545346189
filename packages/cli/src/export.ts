/** `edgefl export`: writes a trained model's inference graph as a standalone .onnx. */
import type { Command } from 'commander';
import { exportInferenceModel } from 'edgefl';
import { loadTrainedModel, writeFileAtomic } from '@edgefl/node';

export function registerExportCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('export')
    .description('export a trained model (a run folder) as a standard inference .onnx')
    .requiredOption('--model <dir>', 'run folder written by `edgefl train`')
    .requiredOption('--out <file>', 'where to write the .onnx')
    .option('--no-probabilities', 'do not add a softmax "probabilities" output')
    .action(async (o: { model: string; out: string; probabilities: boolean }) => {
      const { info, params } = await loadTrainedModel(o.model);
      const bytes = exportInferenceModel(info.spec, params, {
        labels: info.labels,
        normalization: info.normalization,
        probabilities: o.probabilities,
      });
      await writeFileAtomic(o.out, bytes);
      out(
        `wrote ${o.out} (${(bytes.length / 1024).toFixed(0)} KiB): input 'input' [batch, ${info.spec.inputShape.join(', ')}], outputs 'logits'${o.probabilities ? ", 'probabilities'" : ''}${info.labels ? `, labels ${JSON.stringify(info.labels)}` : ''}`,
      );
    });
}
