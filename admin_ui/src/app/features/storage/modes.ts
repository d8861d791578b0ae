import { SeMode } from '../../api/types';

export interface ModeTransition {
  to: SeMode;
  /** The SE asks for an explicit confirmation flag (`ro → rw`). */
  needsConfirm: boolean;
  warning: string;
}

/** ARCHITECTURE.md §3: rw → ro → ar, and ro → rw with explicit confirmation; edit never changes. */
export function transitionsFrom(mode: SeMode): ModeTransition[] {
  switch (mode) {
    case 'rw':
      return [{ to: 'ro', needsConfirm: false, warning: 'No new files will be written to this storage element.' }];
    case 'ro':
      return [
        { to: 'ar', needsConfirm: false, warning: 'Content becomes unreadable (409 archived) until restored; only metadata stays online.' },
        { to: 'rw', needsConfirm: true, warning: 'The storage element accepts new permanent files again.' },
      ];
    default:
      return [];
  }
}
