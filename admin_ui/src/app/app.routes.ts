import { Routes } from '@angular/router';

import { homeRedirect, roleGuard } from './core/guards';

export const routes: Routes = [
  { path: 'login', loadComponent: () => import('./features/auth/login').then((m) => m.LoginPage) },
  { path: 'forgot-password', loadComponent: () => import('./features/auth/forgot-password').then((m) => m.ForgotPasswordPage) },
  { path: 'reset-password', loadComponent: () => import('./features/auth/reset-password').then((m) => m.ResetPasswordPage) },
  {
    path: '',
    loadComponent: () => import('./shell/shell').then((m) => m.Shell),
    canActivate: [roleGuard('USER')],
    children: [
      { path: '', pathMatch: 'full', canActivate: [homeRedirect], children: [] },
      { path: 'dashboard', canActivate: [roleGuard('OPERATOR')], title: 'Dashboard',
        loadComponent: () => import('./features/dashboard/dashboard').then((m) => m.DashboardPage) },
      { path: 'files', canActivate: [roleGuard('USER')], title: 'Files',
        loadComponent: () => import('./features/files/files-page').then((m) => m.FilesPage) },
      { path: 'storage', canActivate: [roleGuard('OPERATOR')], title: 'Storage elements',
        loadComponent: () => import('./features/storage/storage-page').then((m) => m.StoragePage) },
      { path: 'users', canActivate: [roleGuard('ADMIN')], title: 'Users',
        loadComponent: () => import('./features/users/users-page').then((m) => m.UsersPage) },
      { path: 'service-accounts', canActivate: [roleGuard('ADMIN')], title: 'Service accounts',
        loadComponent: () => import('./features/service-accounts/service-accounts-page').then((m) => m.ServiceAccountsPage) },
      { path: 'keys', canActivate: [roleGuard('ADMIN')], title: 'Signing keys',
        loadComponent: () => import('./features/keys/keys-page').then((m) => m.KeysPage) },
      { path: 'audit', canActivate: [roleGuard('ADMIN')], title: 'Audit log',
        loadComponent: () => import('./features/audit/audit-page').then((m) => m.AuditPage) },
      { path: 'account/password', title: 'Change password',
        loadComponent: () => import('./features/auth/change-password').then((m) => m.ChangePasswordPage) },
    ],
  },
  { path: '**', redirectTo: '' },
];
