import { changePasswordRequestSchema, redeemPasswordResetRequestSchema } from '@onramp/contracts';
import { useState } from 'react';
import { Alert, Button, Card, Field, PageHeader, TextInput } from '../components/ui.tsx';
import { type FieldErrors, useForm, validateWith } from '../lib/forms.ts';
import { useClient } from '../lib/session.tsx';
import { AuthLayout } from './SignIn.tsx';

const NEW_PASSWORD_HELP =
  'At least 12 characters. A few unrelated words work well; common passwords and ones containing your name or email are refused.';

/** The second entry of a new password must match the first: a typo would lock the person out. */
function mismatch(password: string, repeat: string): FieldErrors | undefined {
  return password === repeat
    ? undefined
    : { repeat: { message: 'The two passwords differ.', hint: 'Type the same password twice.' } };
}

/** Settings of one's own: the signed-in person changes their password. */
export function ChangePasswordPage() {
  const client = useClient();
  const [isChanged, setChanged] = useState(false);
  const { form, errors, setErrors, busy, field, reset, submit, onSubmit } = useForm({
    currentPassword: '',
    newPassword: '',
    repeat: '',
  });
  const change = () => {
    setChanged(false);
    const checked = validateWith(changePasswordRequestSchema, form);
    if (!checked.ok) return setErrors(checked.errors);
    const differs = mismatch(form.newPassword, form.repeat);
    if (differs) return setErrors(differs);
    return submit(async () => {
      await client.session.changePassword(checked.data);
      reset();
      setChanged(true);
    });
  };
  return (
    <>
      <PageHeader title="Change password" subtitle="Your other signed-in sessions end." />
      <Card title="Your password">
        {isChanged ? (
          <Alert tone="success" title="Password changed">
            Sessions on your other browsers and devices have ended.
          </Alert>
        ) : null}
        <form noValidate onSubmit={onSubmit(change)}>
          {errors.form ? <Alert tone="danger">{errors.form.message}</Alert> : null}
          <Field label="Current password" error={errors.currentPassword}>
            <TextInput
              type="password"
              autoComplete="current-password"
              {...field('currentPassword')}
            />
          </Field>
          <Field label="New password" error={errors.newPassword} description={NEW_PASSWORD_HELP}>
            <TextInput type="password" autoComplete="new-password" {...field('newPassword')} />
          </Field>
          <Field label="New password again" error={errors.repeat}>
            <TextInput type="password" autoComplete="new-password" {...field('repeat')} />
          </Field>
          <div className="form-actions">
            <Button type="submit" variant="primary" busy={busy}>
              Change password
            </Button>
          </div>
        </form>
      </Card>
    </>
  );
}

/** The token of a reset link: `/reset-password#token=rst_…` (in the fragment, sent to no server). */
function tokenFromLocation(): string {
  return new URLSearchParams(window.location.hash.replace(/^#/, '')).get('token') ?? '';
}

/** Where a reset link an admin handed out leads: the person sets a new password, once. */
export function ResetPasswordPage() {
  const client = useClient();
  const [token] = useState(tokenFromLocation);
  const [isSet, setIsSet] = useState(false);
  const { form, errors, setErrors, busy, field, submit, onSubmit } = useForm({
    newPassword: '',
    repeat: '',
  });
  const resetPassword = () => {
    const checked = validateWith(redeemPasswordResetRequestSchema, {
      token,
      newPassword: form.newPassword,
    });
    if (!checked.ok) return setErrors(checked.errors);
    const differs = mismatch(form.newPassword, form.repeat);
    if (differs) return setErrors(differs);
    return submit(async () => {
      await client.session.resetPassword(checked.data);
      setIsSet(true);
    });
  };
  if (isSet) {
    return (
      <AuthLayout title="Password set">
        <Alert tone="success">Your new password is set, and every earlier session has ended.</Alert>
        {/* A full load: the console starts again from the sign-in page. */}
        <a className="btn btn-primary btn-block" href="/">
          Sign in
        </a>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Set a new password">
      {!token || errors.token ? (
        <Alert tone="danger" title="This reset link does not work">
          {errors.token?.message ?? 'The link has no token.'} Ask an admin for a new link.
        </Alert>
      ) : null}
      <form noValidate onSubmit={onSubmit(resetPassword)}>
        {errors.form ? <Alert tone="danger">{errors.form.message}</Alert> : null}
        <Field label="New password" error={errors.newPassword} description={NEW_PASSWORD_HELP}>
          <TextInput type="password" autoComplete="new-password" {...field('newPassword')} />
        </Field>
        <Field label="New password again" error={errors.repeat}>
          <TextInput type="password" autoComplete="new-password" {...field('repeat')} />
        </Field>
        <Button type="submit" variant="primary" busy={busy} className="btn-block" disabled={!token}>
          Set password
        </Button>
      </form>
    </AuthLayout>
  );
}
