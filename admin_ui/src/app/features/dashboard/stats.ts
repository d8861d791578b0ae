import { FileRecord, Stats } from '../../api/types';

export interface GroupRow {
  key: string;
  files: number;
  bytes: number;
}

export interface DayRow {
  day: string;
  files: number;
  bytes: number;
}

export interface DashboardStats {
  byStorageElement: GroupRow[];
  byMode: GroupRow[];
  byRetention: GroupRow[];
  uploadsPerDay: DayRow[];
  latest: FileRecord[];
  totalFiles: number;
  totalBytes: number;
}

function num(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

const KEY_FIELDS = ['key', 'storage_element_id', 'mode', 'retention_policy', 'name', 'id', 'value'];

/** A group arrives as `[{mode: "rw", files, bytes}]` or `{rw: {files, bytes}}`; both become rows. */
export function groupRows(raw: unknown): GroupRow[] {
  if (Array.isArray(raw)) {
    return raw.map((row: Record<string, unknown>) => {
      const keyField = KEY_FIELDS.find((f) => row[f] !== undefined && row[f] !== null);
      return {
        key: String(keyField ? row[keyField] : '?'),
        files: num(row['files'] ?? row['count'] ?? row['file_count']),
        bytes: num(row['bytes'] ?? row['size'] ?? row['total_bytes']),
      };
    });
  }
  if (raw && typeof raw === 'object') {
    return Object.entries(raw as Record<string, unknown>).map(([key, v]) => {
      const row = (v && typeof v === 'object' ? v : { files: v }) as Record<string, unknown>;
      return { key, files: num(row['files'] ?? row['count']), bytes: num(row['bytes'] ?? row['size']) };
    });
  }
  return [];
}

/** Uploads per day over `days` days ending today (UTC), with the missing days as zero. */
export function dayRows(raw: unknown, today: Date, days = 30): DayRow[] {
  const found = new Map<string, DayRow>();
  for (const row of groupRowsByDay(raw)) found.set(row.day, row);
  const out: DayRow[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    const day = d.toISOString().slice(0, 10);
    out.push(found.get(day) ?? { day, files: 0, bytes: 0 });
  }
  return out;
}

function groupRowsByDay(raw: unknown): DayRow[] {
  if (Array.isArray(raw)) {
    return raw.map((row: Record<string, unknown>) => ({
      day: String(row['day'] ?? row['date'] ?? '').slice(0, 10),
      files: num(row['files'] ?? row['count'] ?? row['uploads']),
      bytes: num(row['bytes'] ?? row['size']),
    }));
  }
  return groupRows(raw).map((r) => ({ day: r.key.slice(0, 10), files: r.files, bytes: r.bytes }));
}

export function normalizeStats(raw: Stats | null | undefined, today = new Date()): DashboardStats {
  const byStorageElement = groupRows(raw?.storage_elements);
  const byMode = groupRows(raw?.modes);
  const byRetention = groupRows(raw?.retention_policies);
  const groups = byRetention.length ? byRetention : byMode.length ? byMode : byStorageElement;
  return {
    byStorageElement,
    byMode,
    byRetention,
    uploadsPerDay: dayRows(raw?.uploads_per_day, today),
    latest: raw?.latest_uploads ?? raw?.latest ?? [],
    totalFiles: raw?.totals ? num(raw.totals.files) : groups.reduce((s, r) => s + r.files, 0),
    totalBytes: raw?.totals ? num(raw.totals.bytes) : groups.reduce((s, r) => s + r.bytes, 0),
  };
}
