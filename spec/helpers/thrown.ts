// What an action throws, for a test that looks at the error itself (a real fs error's errno, path
// and syscall); a test fails here when the action does not throw.
export function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}
