import { Role } from '../api/types';

const RANK: Record<Role, number> = { USER: 0, OPERATOR: 1, ADMIN: 2 };

export function isRole(value: unknown): value is Role {
  return value === 'USER' || value === 'OPERATOR' || value === 'ADMIN';
}

/** Does `role` reach at least `min`? Unknown or missing roles reach nothing. */
export function hasRole(role: Role | null | undefined, min: Role): boolean {
  return isRole(role) && RANK[role] >= RANK[min];
}

export interface NavItem {
  path: string;
  label: string;
  icon: string;
  min: Role;
}

export const NAV_ITEMS: NavItem[] = [
  { path: '/dashboard', label: 'Dashboard', icon: 'dashboard', min: 'OPERATOR' },
  { path: '/files', label: 'Files', icon: 'folder', min: 'USER' },
  { path: '/storage', label: 'Storage elements', icon: 'storage', min: 'OPERATOR' },
  { path: '/users', label: 'Users', icon: 'group', min: 'ADMIN' },
  { path: '/service-accounts', label: 'Service accounts', icon: 'smart_toy', min: 'ADMIN' },
  { path: '/keys', label: 'Signing keys', icon: 'key', min: 'ADMIN' },
  { path: '/audit', label: 'Audit log', icon: 'policy', min: 'ADMIN' },
];

export function navFor(role: Role | null | undefined): NavItem[] {
  return NAV_ITEMS.filter((item) => hasRole(role, item.min));
}

/** Where a freshly signed-in user lands. */
export function homeFor(role: Role | null | undefined): string {
  return hasRole(role, 'OPERATOR') ? '/dashboard' : '/files';
}
