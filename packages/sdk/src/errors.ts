/** An error answer from Tally (or a failure to reach it), with the server's stable `code`. */
export class TallyError extends Error {
  readonly code: string;
  readonly status: number;
  /** Field-level problems of a 400 validation_error. */
  readonly issues: { path: string; message: string }[];
  /** The whole `error` object the server sent. */
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, status: number, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'TallyError';
    this.code = code;
    this.status = status;
    this.details = details;
    this.issues = Array.isArray(details.issues) ? (details.issues as { path: string; message: string }[]) : [];
  }
}
