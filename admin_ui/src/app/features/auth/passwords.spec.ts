import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';

import { settle, setupHttp } from '../../testing/harness';
import { ChangePasswordPage } from './change-password';
import { ResetPasswordPage } from './reset-password';

function fill(el: HTMLElement, control: string, value: string): void {
  const input = el.querySelector<HTMLInputElement>(`input[formcontrolname=${control}]`)!;
  input.value = value;
  input.dispatchEvent(new Event('input'));
}
const submit = (el: HTMLElement) => el.querySelector<HTMLButtonElement>('button[type=submit]')!;
const problem = (status: number, code: string, detail: string) =>
  [{ type: 'about:blank', title: 'Refused', status, detail, code }, { status, statusText: 'Refused' }] as const;

describe('ResetPasswordPage', () => {
  let ctl: HttpTestingController;
  beforeEach(() => { ctl = setupHttp(); });
  afterEach(() => ctl.verify());

  async function open(token?: string) {
    const fixture = TestBed.createComponent(ResetPasswordPage);
    if (token) fixture.componentRef.setInput('token', token);
    await settle(fixture);
    return { fixture, el: fixture.nativeElement as HTMLElement };
  }

  it('takes the token from the link, needs matching passwords, and confirms the reset', async () => {
    const { fixture, el } = await open('tok-123');
    expect(el.querySelector<HTMLInputElement>('input[formcontrolname=token]')!.value).toBe('tok-123');
    fill(el, 'new_password', 'Correct-Horse-9');
    fill(el, 'confirm', 'Correct-Horse-8');
    await settle(fixture);
    expect(el.textContent).toContain('The passwords differ.');
    expect(submit(el).disabled).toBe(true);

    fill(el, 'confirm', 'Correct-Horse-9');
    await settle(fixture);
    expect(submit(el).disabled).toBe(false);
    submit(el).click();
    const req = ctl.expectOne('http://a/api/v1/auth/password-reset/confirm');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ token: 'tok-123', new_password: 'Correct-Horse-9' });
    req.flush(null, { status: 204, statusText: 'No Content' });
    await settle(fixture);
    expect(el.querySelector('.state-box.ok')?.textContent).toContain('Your password was changed');
    expect(el.querySelector('form')).toBeNull();
  });

  it('shows why an unknown or used token is refused and keeps the form', async () => {
    const { fixture, el } = await open();
    fill(el, 'token', '  typed-token ');
    fill(el, 'new_password', 'Correct-Horse-9');
    fill(el, 'confirm', 'Correct-Horse-9');
    await settle(fixture);
    submit(el).click();
    const req = ctl.expectOne('http://a/api/v1/auth/password-reset/confirm');
    expect(req.request.body).toEqual({ token: 'typed-token', new_password: 'Correct-Horse-9' });
    req.flush(...problem(400, 'invalid_token', 'the reset token is invalid, expired or already used'));
    await settle(fixture);
    const alert = el.querySelector('[role=alert]')?.textContent ?? '';
    expect(alert).toContain('the reset token is invalid, expired or already used');
    expect(alert).toContain('invalid_token');
    expect(el.querySelector('form')).not.toBeNull();
  });
});

describe('ChangePasswordPage', () => {
  let ctl: HttpTestingController;
  beforeEach(() => { ctl = setupHttp(); });
  afterEach(() => ctl.verify());

  async function fillForm(fixture: { detectChanges(): void; whenStable(): Promise<unknown> }, el: HTMLElement) {
    fill(el, 'current_password', 'old-pass');
    fill(el, 'new_password', 'New-Pass-42');
    fill(el, 'confirm', 'New-Pass-42');
    await settle(fixture);
    submit(el).click();
  }

  it('changes the password and clears the form', async () => {
    const fixture = TestBed.createComponent(ChangePasswordPage);
    await settle(fixture);
    const el: HTMLElement = fixture.nativeElement;
    await fillForm(fixture, el);
    const req = ctl.expectOne('http://a/api/v1/users/me/password');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ current_password: 'old-pass', new_password: 'New-Pass-42' });
    req.flush(null, { status: 204, statusText: 'No Content' });
    await settle(fixture);
    expect(el.querySelector('.state-box.ok')?.textContent).toContain('Password changed.');
    expect(el.querySelector<HTMLInputElement>('input[formcontrolname=current_password]')!.value).toBe('');
    expect(submit(el).disabled).toBe(true);
  });

  it('shows the refusal of an LDAP account', async () => {
    const fixture = TestBed.createComponent(ChangePasswordPage);
    await settle(fixture);
    const el: HTMLElement = fixture.nativeElement;
    await fillForm(fixture, el);
    ctl.expectOne('http://a/api/v1/users/me/password')
      .flush(...problem(409, 'directory_user', 'change your password in the directory'));
    await settle(fixture);
    expect(el.querySelector('[role=alert]')?.textContent).toContain('change your password in the directory');
    expect(el.querySelector('[role=alert]')?.textContent).toContain('directory_user');
    expect(el.querySelector('.state-box.ok')).toBeNull();
  });
});
