import {
  type ButtonHTMLAttributes,
  cloneElement,
  type InputHTMLAttributes,
  type ReactElement,
  type ReactNode,
  useEffect,
  useId,
  useRef,
  useState,
} from 'react';
import type { FieldErrors, FieldMessage } from '../lib/forms.ts';

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost';

export function Button({
  variant = 'secondary',
  busy = false,
  className,
  children,
  disabled,
  type = 'button',
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; busy?: boolean }) {
  return (
    <button
      type={type}
      className={`btn btn-${variant}${className ? ` ${className}` : ''}`}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      {...rest}
    >
      {busy ? <span className="spinner" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}

/**
 * A labelled form field: the label, the control, a description, and the error in red with what to do
 * (the API's hint). The control gets its id, aria-invalid and aria-describedby from here.
 */
export function Field({
  label,
  description,
  error,
  children,
  optional,
}: {
  label: ReactNode;
  description?: ReactNode;
  error?: FieldMessage | undefined;
  optional?: boolean;
  children: ReactElement<{
    id?: string;
    'aria-invalid'?: boolean;
    'aria-describedby'?: string;
  }>;
}) {
  const id = useId();
  const describedBy = [description ? `${id}-desc` : '', error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id} className="field-label">
        {label}
        {optional ? <span className="optional"> (optional)</span> : null}
      </label>
      {cloneElement(children, {
        id,
        'aria-invalid': error ? true : undefined,
        ...(describedBy ? { 'aria-describedby': describedBy } : {}),
      })}
      {description ? (
        <p id={`${id}-desc`} className="field-description">
          {description}
        </p>
      ) : null}
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

/** A field's error in red, with what to do; `id` is what the field's aria-describedby names. */
export function FieldError({ id, error }: { id: string; error: FieldMessage | undefined }) {
  if (!error) return null;
  return (
    <p id={id} className="field-error" role="alert">
      {error.message}
      {error.hint ? <span className="field-hint"> {error.hint}</span> : null}
    </p>
  );
}

/** A list's filter: "All" or one of `options` ([value, label] pairs). */
export function FilterSelect({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: string;
  options: readonly (readonly [string, string])[];
  onChange: (value: string) => void;
}) {
  return (
    <label className="filter">
      <span className="field-label">{label}</span>
      <select className="input" value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">All</option>
        {options.map(([optionValue, text]) => (
          <option key={optionValue} value={optionValue}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

export function TextInput(props: InputHTMLAttributes<HTMLInputElement>) {
  return <input type="text" className="input" {...props} />;
}

export function Alert({
  tone = 'info',
  title,
  children,
}: {
  tone?: 'info' | 'success' | 'warning' | 'danger';
  title?: ReactNode;
  children?: ReactNode;
}) {
  return (
    <div className={`alert alert-${tone}`} role={tone === 'danger' ? 'alert' : 'status'}>
      {title ? <strong className="alert-title">{title}</strong> : null}
      {children ? <div className="alert-body">{children}</div> : null}
    </div>
  );
}

/**
 * One option of a radio group drawn as a card (inside `.choice-cards`): its title, an optional tag
 * ("Recommended"), what it means and, when it is `unavailable`, why. `disabled` is the radio's own
 * state: an option can be greyed out and still be fixed for other reasons.
 */
export function ChoiceCard({
  name,
  value,
  checked,
  disabled,
  unavailable = false,
  onChange,
  title,
  tag,
  description,
  reason,
}: {
  name: string;
  value?: string;
  checked: boolean;
  disabled?: boolean;
  unavailable?: boolean;
  onChange: () => void;
  title: ReactNode;
  tag?: ReactNode;
  description?: ReactNode;
  reason?: ReactNode;
}) {
  return (
    <label className={`choice-card${unavailable ? ' choice-card-disabled' : ''}`}>
      <input
        type="radio"
        name={name}
        value={value}
        disabled={disabled}
        checked={checked}
        onChange={onChange}
      />
      <span>
        <strong>{title}</strong>
        {tag ? <span className="tag">{tag}</span> : null}
        {description !== undefined ? (
          <span className="choice-description">{description}</span>
        ) : null}
        {reason ? <span className="choice-reason">{reason}</span> : null}
      </span>
    </label>
  );
}

const STATUS_LABELS: Record<string, string> = {
  valid: 'Valid',
  degraded: 'Degraded',
  invalid: 'Invalid',
  unverified: 'Unverified',
  passed: 'Passed',
  failed: 'Failed',
  warning: 'Warning',
  error: 'Not answered',
  skipped: 'Skipped',
  pending: 'Pending',
  connected: 'Connected',
  delivered: 'Delivered',
  stale: 'Stale',
  enabled: 'Enabled',
  disabled: 'Disabled',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-${status}`}>
      <span className="badge-dot" aria-hidden="true" />
      {STATUS_LABELS[status] ?? status}
    </span>
  );
}

export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  // A refused clipboard (no permission, an insecure origin) says so instead of doing nothing.
  const [copied, setCopied] = useState<'copied' | 'failed' | false>(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), copied === 'failed' ? 4000 : 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <Button
      variant="ghost"
      className="btn-small"
      aria-label={`${label}: ${value.length > 40 ? `${value.slice(0, 40)}…` : value}`}
      onClick={() => {
        if (!navigator.clipboard) return setCopied('failed');
        void navigator.clipboard.writeText(value).then(
          () => setCopied('copied'),
          () => setCopied('failed'),
        );
      }}
    >
      {copied === 'copied'
        ? 'Copied'
        : copied === 'failed'
          ? 'Copy failed: select the text'
          : label}
    </Button>
  );
}

/** A value to copy: monospace, with its copy button. */
export function CopyValue({ value, multiline = false }: { value: string; multiline?: boolean }) {
  return (
    <div className={`copy-value${multiline ? ' copy-value-multiline' : ''}`}>
      {multiline ? <pre>{value}</pre> : <code>{value}</code>}
      <CopyButton value={value} />
    </div>
  );
}

/** Tabs as WAI-ARIA describes them: arrow keys move between tabs, Tab moves into the panel. */
export function Tabs({
  label,
  tabs,
}: {
  label: string;
  tabs: { id: string; title: ReactNode; content: ReactNode }[];
}) {
  const base = useId();
  const [active, setActive] = useState(tabs[0]?.id ?? '');
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const move = (delta: number) => {
    const index = tabs.findIndex((t) => t.id === active);
    const next = tabs[(index + delta + tabs.length) % tabs.length];
    if (next) {
      setActive(next.id);
      refs.current[next.id]?.focus();
    }
  };
  return (
    <div className="tabs">
      <div role="tablist" aria-label={label} className="tab-list">
        {tabs.map((tab) => (
          <button
            key={tab.id}
            ref={(el) => {
              refs.current[tab.id] = el;
            }}
            type="button"
            role="tab"
            id={`${base}-${tab.id}-tab`}
            aria-selected={tab.id === active}
            aria-controls={`${base}-${tab.id}-panel`}
            tabIndex={tab.id === active ? 0 : -1}
            className="tab"
            onClick={() => setActive(tab.id)}
            onKeyDown={(event) => {
              if (event.key === 'ArrowRight') move(1);
              if (event.key === 'ArrowLeft') move(-1);
            }}
          >
            {tab.title}
          </button>
        ))}
      </div>
      {tabs.map((tab) =>
        tab.id === active ? (
          <div
            key={tab.id}
            role="tabpanel"
            id={`${base}-${tab.id}-panel`}
            aria-labelledby={`${base}-${tab.id}-tab`}
            className="tab-panel"
          >
            {tab.content}
          </div>
        ) : null,
      )}
    </div>
  );
}

export function Card({
  title,
  actions,
  children,
  className,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <section className={`card${className ? ` ${className}` : ''}`}>
      {title || actions ? (
        <header className="card-header">
          {title ? <h2 className="card-title">{title}</h2> : null}
          {actions ? <div className="card-actions">{actions}</div> : null}
        </header>
      ) : null}
      {children}
    </section>
  );
}

export function PageHeader({
  title,
  subtitle,
  actions,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="page-subtitle">{subtitle}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** A modal dialog: focus moves into it, Escape closes it, focus returns where it was. */
const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Open modals, innermost last: only the innermost one answers Tab and Escape. */
const openModals: HTMLElement[] = [];

/**
 * A dialog that holds the keyboard while open, as aria-modal promises: Tab and Shift+Tab wrap
 * within it, and Escape closes it wherever focus is. Focus starts on its first control (forms
 * put the safe choice first) and goes back to the opener on close.
 */
export function Modal({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const id = useId();
  const ref = useRef<HTMLDivElement>(null);
  // The latest onClose, so the document listener is added once and still calls the current one.
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const previous = document.activeElement as HTMLElement | null;
    dialog.querySelector<HTMLElement>('input, button, textarea, select')?.focus();
    openModals.push(dialog);
    const onKey = (event: KeyboardEvent) => {
      if (openModals[openModals.length - 1] !== dialog) return;
      if (event.key === 'Escape') {
        event.preventDefault();
        close.current();
        return;
      }
      if (event.key !== 'Tab') return;
      const controls = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)];
      const first = controls[0];
      const last = controls[controls.length - 1];
      if (!first || !last) {
        event.preventDefault();
        return;
      }
      const active = document.activeElement;
      const inside = active instanceof Node && dialog.contains(active);
      if (event.shiftKey && (!inside || active === first)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (!inside || active === last)) {
        event.preventDefault();
        first.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      openModals.splice(openModals.indexOf(dialog), 1);
      previous?.focus?.();
    };
  }, []);
  return (
    <div className="modal-backdrop">
      <div
        ref={ref}
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${id}-title`}
      >
        <h2 id={`${id}-title`} className="modal-title">
          {title}
        </h2>
        {children}
      </div>
    </div>
  );
}

/** The errors a form has no field for (a full collection, a problem of the whole form), so none goes unseen. */
export function OtherErrors({ errors, fields }: { errors: FieldErrors; fields: string[] }) {
  const other = Object.entries(errors).filter(([field]) => !fields.includes(field));
  return other.map(([field, e]) => (
    <Alert key={field} tone="danger">
      {e.message} {e.hint}
    </Alert>
  ));
}

/**
 * IAM actions as short chips, the first few only: a bundle can lack hundreds, and a wall of them
 * hides what matters. "and N more" shows the rest in place.
 */
export function ActionList({ actions, limit = 5 }: { actions: string[]; limit?: number }) {
  const [expanded, setExpanded] = useState(false);
  // One more than the limit is shown rather than "and 1 more".
  const cut = actions.length > limit + 1 && !expanded ? limit : actions.length;
  return (
    <span className="action-list">
      {actions.slice(0, cut).map((action) => (
        <code key={action} className="action">
          {action}
        </code>
      ))}
      {actions.length > limit + 1 ? (
        <Button
          variant="ghost"
          className="btn-small btn-link"
          aria-expanded={expanded}
          onClick={() => setExpanded(!expanded)}
        >
          {expanded ? 'Show fewer' : `and ${actions.length - limit} more`}
        </Button>
      ) : null}
    </span>
  );
}
