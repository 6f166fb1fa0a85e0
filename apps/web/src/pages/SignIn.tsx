import { loginRequestSchema, setupRequestSchema } from '@onramp/contracts';
import { ApiProblem, type Session, type SignInChoice } from '@onramp/sdk';
import { useState } from 'react';
import { Alert, Button, Field, TextInput } from '../components/ui.tsx';
import { BrandMark, SupportLink } from '../lib/branding.tsx';
import { useForm, validateWith } from '../lib/forms.ts';
import { Link } from '../lib/router.tsx';
import { useClient } from '../lib/session.tsx';

export function AuthLayout({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="auth" id="main">
      <div className="auth-card">
        <div className="brand brand-large">
          <BrandMark />
        </div>
        <h1>{title}</h1>
        {children}
        <p className="auth-footer">
          <SupportLink />
        </p>
      </div>
    </main>
  );
}

/** The select's value for the operator account, which belongs to no tenant. */
const OPERATOR_CHOICE = 'operator';

export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const client = useClient();
  const { form, errors, setErrors, busy, field, submit, onSubmit } = useForm({
    email: '',
    password: '',
    tenant: '',
  });
  // Set when this email and password open accounts in several tenants: the person picks one.
  const [choices, setChoices] = useState<SignInChoice[]>([]);
  const signIn = () => {
    const tenantId = form.tenant === OPERATOR_CHOICE ? null : form.tenant;
    const checked = validateWith(loginRequestSchema, {
      email: form.email,
      password: form.password,
      ...(choices.length && form.tenant ? { tenantId } : {}),
    });
    if (!checked.ok) return setErrors(checked.errors);
    return submit(async () => {
      try {
        onSignedIn(await client.session.login(checked.data));
      } catch (failure) {
        if (failure instanceof ApiProblem && failure.signInChoices.length)
          setChoices(failure.signInChoices);
        throw failure;
      }
    });
  };
  return (
    <AuthLayout title="Sign in">
      <form noValidate onSubmit={onSubmit(signIn)}>
        {errors.form ? <Alert tone="danger">{errors.form.message}</Alert> : null}
        <Field label="Email" error={errors.email}>
          <TextInput type="email" autoComplete="username" {...field('email')} />
        </Field>
        <Field label="Password" error={errors.password}>
          <TextInput type="password" autoComplete="current-password" {...field('password')} />
        </Field>
        {choices.length ? (
          <Field label="Tenant" error={errors.tenantId}>
            <select className="input" {...field('tenant')}>
              <option value="">Choose the tenant to sign in to</option>
              {choices.map((choice) => (
                <option
                  key={choice.tenantId ?? OPERATOR_CHOICE}
                  value={choice.tenantId ?? OPERATOR_CHOICE}
                >
                  {choice.tenantId ? (choice.tenantName ?? choice.tenantId) : 'Operator'}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
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
  const { form, errors, setErrors, busy, field, submit, onSubmit } = useForm({
    setupToken: '',
    email: '',
    name: '',
    password: '',
  });
  const setUp = () => {
    const checked = validateWith(setupRequestSchema, form);
    if (!checked.ok) return setErrors(checked.errors);
    return submit(async () => onSignedIn(await client.session.setup(checked.data)));
  };
  return (
    <AuthLayout title="Set up Onramp">
      <p className="muted">
        Create the operator admin with the one-time set-up token Onramp printed when it started.
      </p>
      <form noValidate onSubmit={onSubmit(setUp)}>
        {errors.form ? <Alert tone="danger">{errors.form.message}</Alert> : null}
        <Field label="Set-up token" error={errors.setupToken}>
          <TextInput
            autoComplete="off"
            spellCheck={false}
            placeholder="setup_…"
            {...field('setupToken')}
          />
        </Field>
        <Field label="Your name" error={errors.name}>
          <TextInput autoComplete="name" {...field('name')} />
        </Field>
        <Field label="Email" error={errors.email}>
          <TextInput type="email" autoComplete="username" {...field('email')} />
        </Field>
        <Field label="Password" error={errors.password} description="At least 12 characters.">
          <TextInput type="password" autoComplete="new-password" {...field('password')} />
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
