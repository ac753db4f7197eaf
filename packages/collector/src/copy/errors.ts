// A copy that cannot start or cannot finish for a reason the operator can act on: one line on
// stderr (what, and what to do), exit 1.
export class CopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyError';
  }
}
