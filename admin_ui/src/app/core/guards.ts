import { inject } from '@angular/core';
import { CanActivateFn, Router } from '@angular/router';

import { Role } from '../api/types';
import { AuthService } from './auth.service';
import { hasRole, homeFor } from './roles';

/** Signed in, with at least `min` role; otherwise to the login page or to the user's home. */
export function roleGuard(min: Role): CanActivateFn {
  return (_route, state) => {
    const auth = inject(AuthService);
    const router = inject(Router);
    if (!auth.signedIn()) {
      return router.createUrlTree(['/login'], { queryParams: { returnUrl: state.url } });
    }
    return hasRole(auth.role(), min) ? true : router.parseUrl(homeFor(auth.role()));
  };
}

/** `/` sends each role to its own start page. */
export const homeRedirect: CanActivateFn = () => {
  const auth = inject(AuthService);
  const router = inject(Router);
  return router.parseUrl(auth.signedIn() ? homeFor(auth.role()) : '/login');
};
