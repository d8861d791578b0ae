import { Injectable, inject } from '@angular/core';
import { MatSnackBar } from '@angular/material/snack-bar';

import { errorLine } from '../api/problem';

@Injectable({ providedIn: 'root' })
export class Notify {
  private readonly snack = inject(MatSnackBar);

  ok(message: string): void {
    this.snack.open(message, 'OK', { duration: 4000, panelClass: 'snack-ok' });
  }

  error(err: unknown, prefix?: string): void {
    const line = errorLine(err);
    this.snack.open(prefix ? `${prefix}: ${line}` : line, 'Dismiss', { duration: 10000, panelClass: 'snack-error' });
  }
}
