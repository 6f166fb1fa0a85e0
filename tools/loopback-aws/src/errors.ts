/** An error the loopback answers with, rendered in the protocol of the service that was called. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** Extra elements of S3's `<Error>` (BucketName, Key, Region…). */
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = code;
  }

  get type(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

export const MESSAGES = {
  invalidClientTokenId: 'The security token included in the request is invalid.',
  signatureDoesNotMatch:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  expiredToken: 'The security token included in the request is expired',
} as const;

export const invalidClientTokenId = () =>
  new AwsError('InvalidClientTokenId', MESSAGES.invalidClientTokenId, 403);

export const signatureDoesNotMatch = (message: string = MESSAGES.signatureDoesNotMatch) =>
  new AwsError('SignatureDoesNotMatch', message, 403);

export const expiredToken = () => new AwsError('ExpiredToken', MESSAGES.expiredToken, 403);

export const accessDenied = (message: string) => new AwsError('AccessDenied', message, 403);

export const validationError = (message: string) => new AwsError('ValidationError', message, 400);

export const noSuchEntity = (message: string) => new AwsError('NoSuchEntity', message, 404);

export const invalidInput = (message: string) => new AwsError('InvalidInput', message, 400);

export const malformedPolicy = (message: string) =>
  new AwsError('MalformedPolicyDocument', message, 400);

/** IAM's answer to a role, user or policy name already taken in the account (names ignore case). */
export const entityAlreadyExists = (message: string) =>
  new AwsError('EntityAlreadyExists', message, 409);
