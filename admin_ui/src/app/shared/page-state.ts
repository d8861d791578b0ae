import { Component, input } from '@angular/core';
import { MatIconModule } from '@angular/material/icon';
import { MatProgressBarModule } from '@angular/material/progress-bar';

import { UiError } from '../api/problem';

/** Loading bar, error box (problem+json title, detail, code, request id) or empty message. */
@Component({
  selector: 'app-page-state',
  imports: [MatProgressBarModule, MatIconModule],
  template: `
    @if (loading()) {
      <mat-progress-bar mode="indeterminate" aria-label="Loading" />
    } @else if (error(); as e) {
      <div class="state-box error" role="alert">
        <mat-icon>error_outline</mat-icon>
        <div>
          <strong>{{ e.title }}</strong>
          @if (e.message && e.message !== e.title) { <div>{{ e.message }}</div> }
          <div class="muted small">
            @if (e.status > 0) { HTTP {{ e.status }} }
            @if (e.code) { · code <code>{{ e.code }}</code> }
            @if (e.requestId) { · request <code>{{ e.requestId }}</code> }
          </div>
        </div>
      </div>
    } @else if (empty()) {
      <div class="state-box empty">
        <mat-icon>inbox</mat-icon>
        <span>{{ emptyText() }}</span>
      </div>
    }
  `,
})
export class PageState {
  readonly loading = input(false);
  readonly error = input<UiError | null>(null);
  readonly empty = input(false);
  readonly emptyText = input('Nothing here yet.');
}
