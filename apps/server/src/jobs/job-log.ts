/** What background jobs log through (the app's logger in main.ts). */
export interface JobLog {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export const silentLog: JobLog = { info() {}, warn() {}, error() {} };
