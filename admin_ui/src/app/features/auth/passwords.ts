import { AbstractControl, ValidationErrors, ValidatorFn } from '@angular/forms';

/** The form group's `new_password` and `confirm` fields must agree. */
export const passwordsMatch: ValidatorFn = (group: AbstractControl): ValidationErrors | null => {
  const a = group.get('new_password')?.value as string | undefined;
  const b = group.get('confirm')?.value as string | undefined;
  return a && b && a !== b ? { mismatch: true } : null;
};
