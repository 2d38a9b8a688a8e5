// Waiting in tests for something that happens asynchronously (an audit
// line written, a file closed): retry the assertion until it passes.

/** Retries `check` until it passes or `timeoutMs` (default 10 s) have gone by; then throws its error. */
export async function eventually(check: () => unknown, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((wake) => setTimeout(wake, 100));
    }
  }
}
