/** Something the operator needs at start-up is missing or wrong; the message names it and why. */
export class StartupError extends Error {
  constructor(subject: string, reason: string) {
    super(`${subject}: ${reason}`);
    this.name = 'StartupError';
  }
}
