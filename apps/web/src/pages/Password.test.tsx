// @vitest-environment happy-dom
import { ApiProblem } from '@onramp/sdk';
import { fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeClient, renderInConsole } from '../test-support.tsx';
import { ChangePasswordPage, ResetPasswordPage } from './Password.tsx';

const type = (label: string, value: string) =>
  fireEvent.change(screen.getByLabelText(label), { target: { value } });

const weak = new ApiProblem({
  status: 400,
  title: 'The request is not valid',
  errors: [
    {
      field: 'newPassword',
      code: 'weak_password',
      message: 'The password is too easy to guess: it is close to a commonly used password.',
    },
  ],
});

describe('changing one’s password', () => {
  it('asks for the new password twice, without asking the server when they differ', () => {
    const changePassword = vi.fn();
    renderInConsole(
      <ChangePasswordPage />,
      fakeClient({ 'session.changePassword': changePassword }),
    );
    type('Current password', 'the old password');
    type('New password', 'a brand new passphrase');
    type('New password again', 'a brand new passfrase');
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(screen.getByText('The two passwords differ.')).toBeTruthy();
    expect(changePassword).not.toHaveBeenCalled();
  });

  it('shows the server’s refusal on the new password, then the change', async () => {
    const changePassword = vi.fn().mockRejectedValueOnce(weak).mockResolvedValueOnce(undefined);
    renderInConsole(
      <ChangePasswordPage />,
      fakeClient({ 'session.changePassword': changePassword }),
    );
    type('Current password', 'the old password');
    type('New password', 'password1234');
    type('New password again', 'password1234');
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText(/too easy to guess/)).toBeTruthy();
    expect(screen.getByLabelText('New password').getAttribute('aria-invalid')).toBe('true');
    type('New password', 'a brand new passphrase');
    type('New password again', 'a brand new passphrase');
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText('Password changed')).toBeTruthy();
    expect(changePassword).toHaveBeenLastCalledWith({
      currentPassword: 'the old password',
      newPassword: 'a brand new passphrase',
    });
  });
});

describe('the reset page', () => {
  afterEach(() => {
    window.history.replaceState(null, '', '/');
  });

  it('sets the password with the token of the link', async () => {
    window.history.replaceState(null, '', '/reset-password#token=rst_abc123');
    const resetPassword = vi.fn().mockResolvedValue(undefined);
    renderInConsole(<ResetPasswordPage />, fakeClient({ 'session.resetPassword': resetPassword }));
    type('New password', 'a brand new passphrase');
    type('New password again', 'a brand new passphrase');
    fireEvent.click(screen.getByRole('button', { name: 'Set password' }));
    expect(await screen.findByText('Password set')).toBeTruthy();
    expect(resetPassword).toHaveBeenCalledWith({
      token: 'rst_abc123',
      newPassword: 'a brand new passphrase',
    });
    expect(screen.getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe('/');
  });

  it('says when the link is spent, and when it has no token', async () => {
    window.history.replaceState(null, '', '/reset-password#token=rst_spent');
    const resetPassword = vi.fn().mockRejectedValue(
      new ApiProblem({
        status: 400,
        title: 'The request is not valid',
        errors: [
          {
            field: 'token',
            code: 'invalid_token',
            message: 'This reset link is unknown, already used or expired.',
          },
        ],
      }),
    );
    renderInConsole(<ResetPasswordPage />, fakeClient({ 'session.resetPassword': resetPassword }));
    type('New password', 'a brand new passphrase');
    type('New password again', 'a brand new passphrase');
    fireEvent.click(screen.getByRole('button', { name: 'Set password' }));
    expect(await screen.findByText(/already used or expired/)).toBeTruthy();

    window.history.replaceState(null, '', '/reset-password');
    renderInConsole(<ResetPasswordPage />, fakeClient({}));
    expect(screen.getByText(/The link has no token/)).toBeTruthy();
  });
});
