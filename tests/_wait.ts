/**
 * Waiting on signals instead of sleeping: bounded polls that fail with what they waited for and
 * the state last seen.
 * @module
 */

/** Poll `cond` every 5 ms until it holds; rejects naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Poll `read` until `done` holds for the same state on 3 polls in a row, and return that state.
 * Each poll is at least one turn of the event loop, so a peer that can still move the state (a
 * reader, a drain) has had its chances: a state that holds still with `done` true is a stall, a
 * moment between reads is not. Fails after `ms` with the last state.
 */
export async function settled<S>(
  read: () => S,
  done: (s: S) => boolean,
  what: string,
  ms = 20_000,
): Promise<S> {
  const deadline = Date.now() + ms;
  let last = "";
  let same = 0;
  for (;;) {
    const state = read();
    const now = JSON.stringify(state);
    same = done(state) && now === last ? same + 1 : 0;
    last = now;
    if (same >= 2) return state;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${ms} ms waiting for ${what}: ${now}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
