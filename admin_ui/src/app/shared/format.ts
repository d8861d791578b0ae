import { Pipe, PipeTransform } from '@angular/core';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  let n = Math.abs(value);
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(n) : n.toFixed(digits);
  return `${value < 0 ? '-' : ''}${text} ${UNITS[unit]}`;
}

@Pipe({ name: 'bytes' })
export class BytesPipe implements PipeTransform {
  transform(value: number | null | undefined, digits = 1): string {
    return formatBytes(value, digits);
  }
}

export function percentUsed(used: number | undefined, total: number | undefined): number {
  if (!total || total <= 0 || used === undefined) return 0;
  return Math.min(100, Math.max(0, Math.round((used / total) * 1000) / 10));
}
