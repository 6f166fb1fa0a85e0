import { ApiProblem } from '@onramp/sdk';
import { describe, expect, it } from 'vitest';
import { EXIT_FAILURE, EXIT_USAGE } from '../errors.ts';
import { MAX_SERVER_TEXT, problemToUserError } from './problems.ts';

const TOKEN = 'onr_abcdefghijklmnop';
const context = {
  url: 'https://onramp.test',
  token: TOKEN,
  flagOfField: { roleArn: '--role-arn' },
};

describe('an API problem as a message', () => {
  it('names the flag a field came from, with the hint, as a usage error', () => {
    const error = problemToUserError(
      new ApiProblem({
        status: 422,
        title: 'Validation failed',
        detail: 'The role cannot be assumed.',
        errors: [
          {
            field: 'roleArn',
            code: 'x',
            message: 'Onramp cannot assume it.',
            hint: 'Check the trust.',
          },
          { field: 'server.side', code: 'y', message: 'Other.' },
        ],
      }),
      context,
    );
    expect(error.exitCode).toBe(EXIT_USAGE);
    expect(error.messages).toEqual([
      'The role cannot be assumed. (422)',
      '--role-arn: Onramp cannot assume it. Check the trust.',
      'server.side: Other.',
    ]);
  });

  it('says what to do on 401, 403 and 404, and where a network failure happened', () => {
    const of = (status: number, detail: string) =>
      problemToUserError(new ApiProblem({ status, title: 't', detail }), context).messages[0];
    expect(of(401, 'Unknown token.')).toContain(
      'the token was refused (expired or revoked?): run onramp login',
    );
    expect(of(403, 'This token lacks the accounts:write scope.')).toContain(
      'onramp tokens create --scopes accounts:write',
    );
    expect(of(404, 'Account acct_1 does not exist.')).toMatch(/^not found: /);
    expect(of(0, 'ECONNREFUSED')).toBe('cannot reach https://onramp.test: ECONNREFUSED');
    expect(problemToUserError(new ApiProblem({ status: 500, title: 'x' }), context).exitCode).toBe(
      EXIT_FAILURE,
    );
  });

  it('never shows the token, nor the server’s control characters', () => {
    const error = problemToUserError(
      new ApiProblem({ status: 400, title: 'Bad', detail: `token ${TOKEN}\u001b[2J\rok` }),
      context,
    );
    expect(error.messages.join('\n')).not.toContain(TOKEN);
    expect(error.messages.join('\n')).toContain('[the API token]?[2J?ok');
  });

  it('names --tenant when an operator’s request lacks the Onramp-Tenant header', () => {
    const error = problemToUserError(
      new ApiProblem({
        status: 400,
        title: 'Tenant required',
        detail: 'Operators choose the tenant to act on with the Onramp-Tenant header.',
        requestId: 'req_1',
        errors: [
          {
            field: 'Onramp-Tenant',
            code: 'required',
            message: 'Name the tenant (ten_…) to act on.',
          },
        ],
      }),
      context,
    );
    expect(error.exitCode).toBe(EXIT_USAGE);
    expect(error.messages[1]).toBe(
      '--tenant (or ONRAMP_TENANT, or onramp login --tenant): Name the tenant (ten_…) to act on.',
    );
  });

  it('cuts a long server text, saying how much was left out', () => {
    const detail = `${'é'.repeat(MAX_SERVER_TEXT)}tail`;
    const error = problemToUserError(
      new ApiProblem({ status: 409, title: 'Conflict', detail, requestId: 'req_2' }),
      context,
    );
    const message = error.messages[0] ?? '';
    expect(message).toContain(`${'é'.repeat(MAX_SERVER_TEXT)}… (4 more characters not shown)`);
    expect(message).not.toContain('tail');
    expect(message).toMatch(/\(request req_2\)$/);
  });
});
