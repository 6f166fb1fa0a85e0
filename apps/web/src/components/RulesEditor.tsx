import { useBranding } from '../lib/branding.tsx';
import type { FieldErrors } from '../lib/forms.ts';
import { RULE_FIELDS, type RulesText } from '../lib/organizations.ts';
import { Field } from './ui.tsx';

const LISTS: { key: keyof RulesText; label: string; placeholder: string }[] = [
  { key: 'includeUnits', label: 'Include these OUs', placeholder: 'ou-a1b2-c3d4e5f6' },
  { key: 'includeAccounts', label: 'Include these accounts', placeholder: '123456789012' },
  { key: 'excludeUnits', label: 'Exclude these OUs', placeholder: 'ou-a1b2-sandbox1' },
  { key: 'excludeAccounts', label: 'Exclude these accounts', placeholder: '210987654321' },
];

/** How the rules decide, in words: shown wherever they are edited. */
export function RulesExplanation() {
  const { name: brandName } = useBranding();
  return (
    <div className="muted small rules-explanation" data-testid="rules-explanation">
      <p>
        <strong>The most specific rule wins.</strong> An account excluded by its ID is never
        connected; one included by its ID is connected even inside an excluded OU. Otherwise the
        nearest OU above the account that a rule names decides: include <code>ou-prod</code> and
        exclude <code>ou-prod-sandbox</code> below it, and the sandbox accounts stay out.
      </p>
      <p>
        With nothing included, the whole organization is included. The StackSet may deploy more
        widely: {brandName} connects only the accounts these rules admit.
      </p>
    </div>
  );
}

/** The four lists of an organization's include/exclude rules, each checked as typed. */
export function RulesEditor({
  value,
  onChange,
  errors,
  readOnly = false,
}: {
  value: RulesText;
  onChange: (value: RulesText) => void;
  /** Keyed by the request field (`rules.include.organizationalUnits`). */
  errors: FieldErrors;
  readOnly?: boolean;
}) {
  return (
    <div className="rules-editor">
      <RulesExplanation />
      <div className="rules-grid">
        {LISTS.map(({ key, label, placeholder }) => (
          <Field
            key={key}
            label={label}
            optional
            error={errors[RULE_FIELDS[key]]}
            description="One ID per line, or separated by commas."
          >
            <textarea
              className="input mono"
              rows={3}
              spellCheck={false}
              readOnly={readOnly}
              placeholder={placeholder}
              value={value[key]}
              onChange={(event) => onChange({ ...value, [key]: event.target.value })}
            />
          </Field>
        ))}
      </div>
    </div>
  );
}
