import { EventEmitter } from 'node:events';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../test/fixtures.ts';
import { renderCloudFormation } from './cloudformation.ts';
import { createRoleBlueprint } from './role-blueprint.ts';

const CALLBACK_URL = 'https://onramp.example.com/v1/callbacks/cloudformation';
const TOKEN = 'onrcb_secret-token-never-logged';
const ROLE_ARN = 'arn:aws-us-gov:iam::123456789012:role/OnrampRole';
const RESPONSE_URL =
  'https://cloudformation-custom-resource-response-usgovwest1.s3.example/abc?sig';

/** The function's source exactly as the template carries it, not the constant it was built from. */
let environment: Record<string, string> = {};

async function zipFileOfTemplate(): Promise<string> {
  const blueprint = createRoleBlueprint({
    catalog: await defaultCatalog(),
    selection: { partition: 'aws-us-gov', bundles: 'default' },
    externalId: 'onramp-test-external-id',
    hubPrincipal: 'arn:aws-us-gov:iam::111122223333:role/onramp-hub',
  });
  const template = renderCloudFormation(blueprint, {
    callback: { url: CALLBACK_URL, token: TOKEN },
  });
  const resources = template.Resources as Record<
    string,
    {
      Properties: {
        Code?: { ZipFile?: string };
        Environment?: { Variables?: Record<string, string> };
      };
    }
  >;
  const source = resources.CallbackFunction?.Properties.Code?.ZipFile;
  if (!source) throw new Error('the template has no inline callback function');
  environment = resources.CallbackFunction?.Properties.Environment?.Variables ?? {};
  return source;
}

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string | number>;
  timeout: number;
  body: string;
}

/** What the fake network does with one request: answer, fail, or never answer (a timeout). */
type Outcome =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { error: string }
  | 'timeout';

/**
 * A stand-in for Node's https module with the surface the function uses (request, end, destroy, the
 * response's events), recording every request and answering from a script, one outcome per request.
 */
function createFakeHttps(script: Outcome[]) {
  const sent: Sent[] = [];
  const https = {
    request(
      url: string,
      options: { method: string; headers: Record<string, string | number>; timeout: number },
      onResponse: (
        res: EventEmitter & { statusCode: number; setEncoding(e: string): void },
      ) => void,
    ) {
      const req = new EventEmitter() as EventEmitter & {
        end(body: string): void;
        destroy(error: Error): void;
      };
      req.destroy = (error: Error) => {
        setImmediate(() => req.emit('error', error));
      };
      req.end = (body: string) => {
        sent.push({
          url,
          method: options.method,
          headers: options.headers,
          timeout: options.timeout,
          body,
        });
        const outcome = script.shift() ?? { error: 'no scripted outcome' };
        setImmediate(() => {
          if (outcome === 'timeout') {
            req.emit('timeout');
          } else if ('error' in outcome) {
            req.emit('error', new Error(outcome.error));
          } else {
            const res = Object.assign(new EventEmitter(), {
              statusCode: outcome.status,
              headers: outcome.headers ?? {},
              setEncoding: () => {},
            });
            onResponse(res);
            if (outcome.body) res.emit('data', outcome.body);
            res.emit('end');
          }
        });
      };
      return req;
    },
  };
  return { https, sent };
}

/** Runs the inline source in its own context, as Lambda would load index.js, with the fake https. */
async function invoke(
  script: Outcome[],
  event: Record<string, unknown>,
  remainingMs = 120_000,
): Promise<{
  sent: Sent[];
  logs: string[];
  responses: Record<string, unknown>[];
  waits: number[];
}> {
  const { https, sent } = createFakeHttps(script);
  const logs: string[] = [];
  const waits: number[] = [];
  const module = { exports: {} as { handler?: (e: unknown, c: unknown) => Promise<void> } };
  runInNewContext(await zipFileOfTemplate(), {
    require: (name: string) => {
      if (name !== 'https') throw new Error(`the function may use only https, not ${name}`);
      return https;
    },
    module,
    exports: module.exports,
    Buffer,
    // The function's environment as the template sets it (the platform's name).
    process: { env: environment },
    console: { log: (...args: unknown[]) => logs.push(args.join(' ')) },
    // Lambda's timers, without the wait: the test records how long the function would sleep.
    setTimeout: (resume: () => void, ms: number) => {
      waits.push(ms);
      setImmediate(resume);
    },
  });
  const handler = module.exports.handler;
  if (!handler) throw new Error('the source exports no handler');
  await handler(
    {
      StackId: 'arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/onramp/1',
      RequestId: 'req-1',
      LogicalResourceId: 'Callback',
      ResponseURL: RESPONSE_URL,
      ResourceType: 'Custom::OnrampCallback',
      ResourceProperties: {
        ServiceToken: 'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:cb',
        CallbackUrl: CALLBACK_URL,
        Token: TOKEN,
        RoleArn: ROLE_ARN,
        StackId: 'arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/onramp/1',
      },
      ...event,
    },
    { getRemainingTimeInMillis: () => remainingMs },
  );
  const responses = sent
    .filter((s) => s.url === RESPONSE_URL)
    .map((s) => JSON.parse(s.body) as Record<string, unknown>);
  return { sent, logs, responses, waits };
}

const problem = (status: number, detail: string) =>
  JSON.stringify({ type: 'urn:onramp:problem:x', title: 'Refused', status, detail });

describe('the callback function (Code.ZipFile)', () => {
  it('on Create, posts the role to Onramp and answers SUCCESS with the account', async () => {
    const { sent, logs, responses } = await invoke(
      [{ status: 200, body: '{"accountId":"acct_1"}' }, { status: 200 }],
      { RequestType: 'Create' },
    );
    expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual([
      `POST ${CALLBACK_URL}`,
      `PUT ${RESPONSE_URL}`,
    ]);
    const [callback, answer] = sent;
    expect(JSON.parse(callback?.body ?? '')).toEqual({
      requestType: 'Create',
      token: TOKEN,
      roleArn: ROLE_ARN,
      stackId: 'arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/onramp/1',
    });
    expect(callback?.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(callback?.body ?? ''),
    });
    // The pre-signed response URL is signed without a content type: send none.
    expect(answer?.headers['content-type']).toBe('');
    expect(responses).toEqual([
      {
        Status: 'SUCCESS',
        Reason: 'Acme Cloud connected the role as account acct_1.',
        PhysicalResourceId: 'onramp-callback-Callback',
        StackId: 'arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/onramp/1',
        RequestId: 'req-1',
        LogicalResourceId: 'Callback',
        Data: { AccountId: 'acct_1' },
      },
    ]);
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  it('on Create, says the role was received when Onramp validates it later (an organization member)', async () => {
    const { responses } = await invoke(
      [{ status: 202, body: '{"state":"enrolling","accountId":null}' }, { status: 200 }],
      { RequestType: 'Create' },
    );
    expect(responses).toMatchObject([
      {
        Status: 'SUCCESS',
        Reason: 'Acme Cloud received the role (enrolling); it validates it shortly.',
        Data: { AccountId: '' },
      },
    ]);
  });

  it('asks again when Onramp is busy (429, waiting its Retry-After) or cannot answer for now (503)', async () => {
    const { sent, responses, waits, logs } = await invoke(
      [
        { status: 429, headers: { 'retry-after': '7' } },
        { status: 503, body: problem(503, 'The database is not reachable.') },
        { status: 202, body: '{"state":"enrolling","accountId":null}' },
        { status: 200 },
      ],
      { RequestType: 'Create' },
    );
    expect(sent.filter((s) => s.url === CALLBACK_URL)).toHaveLength(3);
    expect(waits).toEqual([7_000, 4_000]);
    expect(responses).toMatchObject([{ Status: 'SUCCESS' }]);
    expect(logs.join('\n')).toContain('Acme Cloud answered HTTP 429; trying again in 7 s.');
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  it('stops asking when the function’s time runs short, and fails the resource with Onramp’s answer', async () => {
    // 60 s left: 15 s for Onramp after the room kept to answer CloudFormation; a 20 s wait does not fit.
    const { sent, responses, waits } = await invoke(
      [{ status: 429, headers: { 'retry-after': '20' } }, { status: 200 }],
      { RequestType: 'Create' },
      60_000,
    );
    expect(sent.filter((s) => s.url === CALLBACK_URL)).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(responses).toMatchObject([
      { Status: 'FAILED', Reason: expect.stringContaining('HTTP 429') },
    ]);
  });

  it('does not ask again when Onramp refuses (a 4xx other than 429)', async () => {
    const { sent } = await invoke(
      [{ status: 404, body: problem(404, 'Onramp expects no such callback.') }, { status: 200 }],
      { RequestType: 'Create' },
    );
    expect(sent.filter((s) => s.url === CALLBACK_URL)).toHaveLength(1);
  });

  it('on Create, answers FAILED with Onramp’s reason when Onramp refuses', async () => {
    const { responses, logs } = await invoke(
      [
        { status: 422, body: problem(422, 'roleArn: AWS refused to let Onramp assume this role.') },
        { status: 200 },
      ],
      { RequestType: 'Create' },
    );
    expect(responses).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        Reason:
          'Acme Cloud answered HTTP 422: roleArn: AWS refused to let Onramp assume this role.',
        PhysicalResourceId: 'onramp-callback-Callback',
        Data: {},
      }),
    ]);
    expect(logs.join('\n')).toContain('Create FAILED');
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  it('on Create, answers FAILED when Onramp cannot be reached or does not answer in time', async () => {
    const unreachable = await invoke([{ error: 'getaddrinfo ENOTFOUND' }, { status: 200 }], {
      RequestType: 'Create',
    });
    expect(unreachable.responses[0]).toMatchObject({
      Status: 'FAILED',
      Reason: 'Acme Cloud could not be reached: getaddrinfo ENOTFOUND',
    });

    const silent = await invoke(['timeout', { status: 200 }], { RequestType: 'Create' }, 100_000);
    // What is left of the function's time, minus room to answer CloudFormation.
    expect(silent.sent[0]?.timeout).toBe(55_000);
    expect(silent.responses[0]).toMatchObject({
      Status: 'FAILED',
      Reason: 'Acme Cloud could not be reached: no answer within 55 s',
    });
  });

  it('keeps the physical id on Update, so CloudFormation sends no Delete for a replaced resource', async () => {
    const { sent, responses } = await invoke(
      [{ status: 200, body: '{"accountId":"acct_1"}' }, { status: 200 }],
      { RequestType: 'Update', PhysicalResourceId: 'onramp-callback-Callback-earlier' },
    );
    expect(JSON.parse(sent[0]?.body ?? '')).toMatchObject({ requestType: 'Update' });
    expect(responses[0]).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'onramp-callback-Callback-earlier',
    });
  });

  it('on Delete, tells Onramp and always answers SUCCESS, so the stack can be removed', async () => {
    const told = await invoke([{ status: 200, body: '{"accountId":"acct_1"}' }, { status: 200 }], {
      RequestType: 'Delete',
      PhysicalResourceId: 'onramp-callback-Callback',
    });
    expect(JSON.parse(told.sent[0]?.body ?? '')).toMatchObject({
      requestType: 'Delete',
      token: TOKEN,
    });
    expect(told.responses[0]).toMatchObject({
      Status: 'SUCCESS',
      Reason: 'Acme Cloud was told the stack is deleted.',
      PhysicalResourceId: 'onramp-callback-Callback',
    });

    const refused = await invoke(
      [{ status: 404, body: problem(404, 'Not expected.') }, { status: 200 }],
      {
        RequestType: 'Delete',
        PhysicalResourceId: 'onramp-callback-Callback',
      },
    );
    expect(refused.responses[0]).toMatchObject({
      Status: 'SUCCESS',
      Reason: 'Acme Cloud answered HTTP 404: Not expected. The stack is deleted anyway.',
    });

    for (const failure of [{ error: 'ECONNREFUSED' }, 'timeout'] as const) {
      const offline = await invoke([failure, { status: 200 }], {
        RequestType: 'Delete',
        PhysicalResourceId: 'onramp-callback-Callback',
      });
      expect(offline.responses[0]).toMatchObject({ Status: 'SUCCESS' });
      expect(offline.responses[0]?.Reason).toMatch(
        /^Acme Cloud could not be reached: .* The stack is deleted anyway\.$/,
      );
    }
  });

  it('tries to answer CloudFormation again when the answer does not go through', async () => {
    const { sent } = await invoke(
      [
        { status: 200, body: '{"accountId":"acct_1"}' },
        { error: 'ECONNRESET' },
        { status: 503 },
        { status: 200 },
      ],
      { RequestType: 'Create' },
    );
    expect(sent.map((s) => s.method)).toEqual(['POST', 'PUT', 'PUT', 'PUT']);
  });

  it('keeps the answer to CloudFormation short even when Onramp’s reason is long', async () => {
    const { sent } = await invoke(
      [{ status: 422, body: problem(422, 'x'.repeat(10_000)) }, { status: 200 }],
      { RequestType: 'Create' },
    );
    const answer = sent[1]?.body ?? '';
    expect(Buffer.byteLength(answer)).toBeLessThan(4096);
    expect((JSON.parse(answer) as { Reason: string }).Reason).toHaveLength(1000);
  });
});
