import { loginRequestSchema, setupRequestSchema } from '@onramp/contracts';
import type { Session } from '@onramp/sdk';
import { useState } from 'react';
import { Alert, Button, Field, TextInput } from '../components/ui.tsx';
import { type FieldErrors, problemErrors, validateWith } from '../lib/forms.ts';
import { Link } from '../lib/router.tsx';
import { useClient } from '../lib/session.tsx';

function AuthLayout({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="auth" id="main">
      <div className="auth-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Onramp
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const client = useClient();
  const [form, setForm] = useState({ email: '', password: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const checked = validateWith(loginRequestSchema, form);
    if (!checked.ok) return setErrors(checked.errors);
    setBusy(true);
    try {
      onSignedIn(await client.session.login(checked.data));
    } catch (failure) {
      setErrors(problemErrors(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <AuthLayout title="Sign in">
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {errors.form ? <Alert tone="danger">{errors.form.message}</Alert> : null}
        <Field label="Email" error={errors.email}>
          <TextInput
            type="email"
            autoComplete="username"
            value={form.email}
            onChange={(event) => setForm({ ...form, email: event.target.value })}
          />
        </Field>
        <Field label="Password" error={errors.password}>
          <TextInput
            type="password"
            autoComplete="current-password"
            value={form.password}
            onChange={(event) => setForm({ ...form, password: event.target.value })}
          />
        </Field>
        <Button type="submit" variant="primary" busy={busy} className="btn-block">
          Sign in
        </Button>
      </form>
      <p className="auth-footer">
        First run? <Link to="/setup">Set up the operator admin</Link> with the one-time token the
        server printed.
      </p>
    </AuthLayout>
  );
}

export function SetupPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const client = useClient();
  const [form, setForm] = useState({ setupToken: '', email: '', name: '', password: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const checked = validateWith(setupRequestSchema, form);
    if (!checked.ok) return setErrors(checked.errors);
    setBusy(true);
    try {
      onSignedIn(await client.session.setup(checked.data));
    } catch (failure) {
      setErrors(problemErrors(failure));
    } finally {
      setBusy(false);
    }
  };
  const set = (key: keyof typeof form) => (event: React.ChangeEvent<HTMLInputElement>) =>
    setForm({ ...form, [key]: event.target.value });
  return (
    <AuthLayout title="Set up Onramp">
      <p className="muted">
        Create the operator admin with the one-time set-up token Onramp printed when it started.
      </p>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {errors.form ? <Alert tone="danger">{errors.form.message}</Alert> : null}
        <Field label="Set-up token" error={errors.setupToken}>
          <TextInput
            autoComplete="off"
            spellCheck={false}
            placeholder="setup_…"
            value={form.setupToken}
            onChange={set('setupToken')}
          />
        </Field>
        <Field label="Your name" error={errors.name}>
          <TextInput autoComplete="name" value={form.name} onChange={set('name')} />
        </Field>
        <Field label="Email" error={errors.email}>
          <TextInput
            type="email"
            autoComplete="username"
            value={form.email}
            onChange={set('email')}
          />
        </Field>
        <Field label="Password" error={errors.password} description="At least 12 characters.">
          <TextInput
            type="password"
            autoComplete="new-password"
            value={form.password}
            onChange={set('password')}
          />
        </Field>
        <Button type="submit" variant="primary" busy={busy} className="btn-block">
          Create the operator admin
        </Button>
      </form>
      <p className="auth-footer">
        Already set up? <Link to="/">Sign in</Link>
      </p>
    </AuthLayout>
  );
}
