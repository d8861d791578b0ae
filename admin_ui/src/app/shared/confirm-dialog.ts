import { Component, inject } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialog, MatDialogModule } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { Observable } from 'rxjs';

export interface ConfirmData {
  title: string;
  message: string;
  confirmLabel?: string;
  danger?: boolean;
  /** When set, the user must type this text to enable the button. */
  typeToConfirm?: string;
}

@Component({
  selector: 'app-confirm-dialog',
  imports: [MatDialogModule, MatButtonModule, MatFormFieldModule, MatInputModule, FormsModule],
  template: `
    <h2 mat-dialog-title>{{ data.title }}</h2>
    <mat-dialog-content>
      <p class="pre-line">{{ data.message }}</p>
      @if (data.typeToConfirm) {
        <mat-form-field appearance="outline" class="full">
          <mat-label>Type "{{ data.typeToConfirm }}" to confirm</mat-label>
          <input matInput [(ngModel)]="typed" name="typed" autocomplete="off" />
        </mat-form-field>
      }
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button mat-button mat-dialog-close>Cancel</button>
      <button mat-flat-button [class.danger]="data.danger" [mat-dialog-close]="true"
              [disabled]="!!data.typeToConfirm && typed !== data.typeToConfirm">
        {{ data.confirmLabel ?? 'Confirm' }}
      </button>
    </mat-dialog-actions>
  `,
})
export class ConfirmDialog {
  readonly data = inject<ConfirmData>(MAT_DIALOG_DATA);
  typed = '';
}

export function confirmAction(dialog: MatDialog, data: ConfirmData): Observable<boolean | undefined> {
  return dialog.open<ConfirmDialog, ConfirmData, boolean>(ConfirmDialog, { data, width: '440px' }).afterClosed();
}
