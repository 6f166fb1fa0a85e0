// @vitest-environment happy-dom
import { ApiProblem } from '@onramp/sdk';
import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { fakeClient, renderInConsole } from '../test-support.tsx';
import { SetupPage, SignInPage } from './SignIn.tsx';

describe('sign-in and set-up forms', () => {
  it('refuses an email the shared schema refuses, without asking the server', () => {
    const login = vi.fn();
    renderInConsole(<SignInPage onSignedIn={() => {}} />, fakeClient({ 'session.login': login }));
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'not-an-email' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByLabelText('Email').getAttribute('aria-invalid')).toBe('true');
    expect(login).not.toHaveBeenCalled();
  });

  it('shows the server’s field error on its field', async () => {
    const login = vi.fn(async () => {
      throw new ApiProblem({
        status: 401,
        title: 'Unauthenticated',
        errors: [
          { field: 'password', code: 'invalid_format', message: 'The email or password is wrong.' },
        ],
      });
    });
    renderInConsole(<SignInPage onSignedIn={() => {}} />, fakeClient({ 'session.login': login }));
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'a@b.example' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'wrong password' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('The email or password is wrong.')).toBeTruthy();
    expect(screen.getByLabelText('Password').getAttribute('aria-invalid')).toBe('true');
  });

  it('asks for a 12-character password at set-up, as the API does', () => {
    const setup = vi.fn();
    renderInConsole(<SetupPage onSignedIn={() => {}} />, fakeClient({ 'session.setup': setup }));
    fireEvent.change(screen.getByLabelText('Set-up token'), {
      target: { value: 'setup_abcdefghijkl' },
    });
    fireEvent.change(screen.getByLabelText('Your name'), { target: { value: 'Ops' } });
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'ops@example.com' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'short' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create the operator admin' }));
    expect(screen.getByText(/use at least 12 characters/i)).toBeTruthy();
    expect(setup).not.toHaveBeenCalled();
  });

  it('asks for the tenant when one password opens accounts in several, and signs in to the one chosen', async () => {
    const session = {
      user: { id: 'u', email: 'a@b.example', name: 'A', role: 'tenant_viewer', tenantId: 'ten_2' },
      csrfToken: 'c',
    };
    const login = vi
      .fn()
      .mockRejectedValueOnce(
        new ApiProblem({
          status: 409,
          title: 'Conflict',
          errors: [
            { field: 'tenantId', code: 'ambiguous', message: 'Choose the tenant to sign in to.' },
          ],
          signInChoices: [
            { tenantId: 'ten_1', tenantName: 'Acme' },
            { tenantId: 'ten_2', tenantName: 'Globex' },
            { tenantId: null, tenantName: null },
          ],
        }),
      )
      .mockResolvedValueOnce(session);
    const onSignedIn = vi.fn();
    renderInConsole(<SignInPage onSignedIn={onSignedIn} />, fakeClient({ 'session.login': login }));
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'a@b.example' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'one password' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Choose the tenant to sign in to.')).toBeTruthy();
    const tenant = screen.getByLabelText('Tenant');
    expect([...tenant.querySelectorAll('option')].map((o) => o.textContent)).toEqual([
      'Choose the tenant to sign in to',
      'Acme',
      'Globex',
      'Operator',
    ]);
    fireEvent.change(tenant, { target: { value: 'ten_2' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await vi.waitFor(() => expect(onSignedIn).toHaveBeenCalledWith(session));
    expect(login).toHaveBeenLastCalledWith({
      email: 'a@b.example',
      password: 'one password',
      tenantId: 'ten_2',
    });
  });
});
