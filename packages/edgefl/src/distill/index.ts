/** Knowledge distillation: a small student trained on a teacher's softened outputs plus hard labels. */
export { distill, top1, type DistillOptions, type DistillResult } from './distill.js';
export {
  DistillationTrainer,
  type DistillationTrainerOptions,
  type DistillationFitOptions,
} from './trainer.js';
export {
  OnnxTeacher,
  withTeacherLogits,
  storedValues,
  type Teacher,
  type OnnxTeacherOptions,
} from './teacher.js';
export { studentModel, STUDENT_FORMS } from './student.js';
export { trainWithDistillation } from './client.js';
