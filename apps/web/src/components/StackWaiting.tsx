import { Alert } from './ui.tsx';

/**
 * Below the role ARN field while a stack launched from the page can report its role back: that the
 * page waits for it (`waiting`), and why it could not ask (`pollError`, it keeps asking). `checker`
 * names who asks in the warning's title ("Acme could not check…"); without it the title names no one.
 */
export function StackWaiting({
  waiting,
  pollError,
  checker,
}: {
  waiting: boolean;
  pollError: string | undefined;
  checker?: string;
}) {
  return (
    <>
      {waiting ? (
        <p className="waiting" role="status">
          <span className="spinner" aria-hidden="true" /> Waiting for your stack… A stack launched
          from here reports the role back by itself; otherwise paste the ARN.
        </p>
      ) : null}
      {pollError ? (
        <Alert
          tone="warning"
          title={
            checker
              ? `${checker} could not check whether your stack reported back`
              : 'Could not check whether your stack reported back'
          }
        >
          {pollError} It keeps trying; you can also paste the role ARN.
        </Alert>
      ) : null}
    </>
  );
}
