/**
 * The inline source (`Code.ZipFile`) of the Lambda function behind the `Custom::OnrampCallback`
 * resource. It tells Onramp which role the stack created, then answers CloudFormation on the request's
 * pre-signed `ResponseURL`.
 *
 * Constraints that shape it:
 * - CloudFormation accepts at most 4,096 characters inline, and an inline function has no
 *   dependencies: only Node's built-in `https` module (render.test.ts asserts the size).
 * - A custom resource that never answers keeps its stack waiting for an hour, so every path answers,
 *   and the call to Onramp is given what is left of the function's time minus room for the answer.
 * - A stack must always be removable: on Delete it tells Onramp, but answers SUCCESS whatever happens.
 * - Onramp busy (429, with Retry-After) or unable to answer for now (502, 503, 504) is asked again
 *   while the function has time: an organization's StackSet reports hundreds of accounts at once, and
 *   a call-back is idempotent (the same token and role get the same answer).
 * - The token is a credential: it is sent to Onramp and never logged.
 * - On Update it keeps the PhysicalResourceId it was given; a new one would make CloudFormation send a
 *   Delete for the old one, which Onramp would read as the stack going away. An Update comes when the
 *   resource's properties change (the permissions' fingerprint): Onramp then checks the role again.
 *
 * Plain CommonJS (the `index.js` of the function) with an async handler (nodejs24.x has no callback handlers), kept readable: it is part of the template a
 * customer reviews before deploying it.
 */
export const CALLBACK_FUNCTION_SOURCE = `// Reports the IAM role this stack created, then answers CloudFormation.
const https = require('https');
const who = process.env.PLATFORM_NAME || 'The platform';

function send(url, method, body, headers, ms) {
  return new Promise((resolve, reject) => {
    const options = { method, timeout: ms, headers: Object.assign({ 'content-length': Buffer.byteLength(body) }, headers) };
    const req = https.request(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, text, retryAfter: (res.headers || {})['retry-after'] }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within ' + Math.round(ms / 1000) + ' s')));
    req.on('error', reject);
    req.end(body);
  });
}

function parse(text) {
  try { return JSON.parse(text) || {}; } catch (e) { return {}; }
}

exports.handler = async (event, context) => {
  const props = event.ResourceProperties || {};
  const type = event.RequestType;
  const left = context && context.getRemainingTimeInMillis ? context.getRemainingTimeInMillis() : 120000;
  const started = Date.now();
  const budget = left - 45000;
  let status = 'SUCCESS';
  let reason = '';
  let data = {};
  try {
    const body = JSON.stringify({ requestType: type, token: props.Token, roleArn: props.RoleArn, stackId: props.StackId });
    let res;
    for (let attempt = 1; ; attempt++) {
      res = await send(props.CallbackUrl, 'POST', body, { 'content-type': 'application/json' }, Math.max(10000, attempt === 1 ? budget : budget - (Date.now() - started)));
      const wait = Math.min(20, Number(res.retryAfter) || 2 * attempt) * 1000;
      if ([429, 502, 503, 504].indexOf(res.status) < 0 || Date.now() - started + wait + 10000 > budget) break;
      console.log(who + ' answered HTTP ' + res.status + '; trying again in ' + wait / 1000 + ' s.');
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const answer = parse(res.text);
    if (res.status >= 200 && res.status < 300) {
      data = { AccountId: String(answer.accountId || '') };
      reason = type === 'Delete' ? who + ' was told the stack is deleted.' : !data.AccountId ? who + ' received the role' + (answer.state ? ' (' + answer.state + ')' : '') + '; it validates it shortly.' : type === 'Update' ? who + ' checks account ' + data.AccountId + ' again.' : who + ' connected the role as account ' + data.AccountId + '.';
    } else {
      status = 'FAILED';
      reason = who + ' answered HTTP ' + res.status + ': ' + (answer.detail || answer.title || 'no reason given');
    }
  } catch (error) {
    status = 'FAILED';
    reason = who + ' could not be reached: ' + error.message;
  }
  if (type === 'Delete' && status !== 'SUCCESS') {
    status = 'SUCCESS';
    reason = reason + ' The stack is deleted anyway.';
  }
  console.log(type + ' ' + status + ': ' + reason);
  const response = JSON.stringify({
    Status: status,
    Reason: reason.slice(0, 1000),
    PhysicalResourceId: event.PhysicalResourceId || 'onramp-callback-' + event.LogicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: data,
  });
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const res = await send(event.ResponseURL, 'PUT', response, { 'content-type': '' }, 12000);
      if (res.status >= 200 && res.status < 300) return;
      console.log('CloudFormation answered HTTP ' + res.status);
    } catch (error) {
      console.log('Could not answer CloudFormation: ' + error.message);
    }
  }
};
`;

/** CloudFormation's limit on `Code.ZipFile`. */
export const INLINE_CODE_LIMIT = 4096;

/**
 * The runtime of the callback function: one constant, because AWS retires Lambda runtimes. Not
 * nodejs20.x, although Onramp itself runs on Node 20: Lambda stopped creating nodejs20.x functions on
 * 2026-06-01 (cfn-lint E2533), so a stack with one would fail. nodejs24.x is offered in all three
 * partitions (cfn-lint checks us-gov-* and cn-* too) and supported until 2028.
 */
export const CALLBACK_FUNCTION_RUNTIME = 'nodejs24.x';
