import { InjectionToken } from '@angular/core';

/** Runtime configuration, read from `config.json` next to index.html before bootstrap. */
export interface AppConfig {
  adminUrl: string;
  ingesterUrl: string;
  queryUrl: string;
  /** Files above this size go through tus (resumable); smaller ones use one multipart POST. */
  tusThresholdBytes?: number;
}

export const APP_CONFIG = new InjectionToken<AppConfig>('APP_CONFIG');

export const DEFAULT_CONFIG: AppConfig = {
  adminUrl: 'http://127.0.0.1:8000',
  ingesterUrl: 'http://127.0.0.1:8020',
  queryUrl: 'http://127.0.0.1:8030',
};

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function normalizeConfig(raw: Partial<AppConfig> | null | undefined): AppConfig {
  const merged = { ...DEFAULT_CONFIG, ...(raw ?? {}) };
  return {
    ...merged,
    adminUrl: trimSlash(merged.adminUrl),
    ingesterUrl: trimSlash(merged.ingesterUrl),
    queryUrl: trimSlash(merged.queryUrl),
  };
}

export async function loadConfig(fetchFn: typeof fetch = fetch): Promise<AppConfig> {
  try {
    const res = await fetchFn('config.json', { cache: 'no-store' });
    if (!res.ok) return normalizeConfig(null);
    return normalizeConfig((await res.json()) as Partial<AppConfig>);
  } catch {
    return normalizeConfig(null);
  }
}
