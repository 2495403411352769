// The guest's writes (SPEC §11.5): JSON to /api/guest/… with the session's cookie, an
// Idempotency-Key on each, and the refusal's code kept, since each code asks the page for
// something else (wait for staff, scan the code again, the visit is over).
import { idempotencyKey } from "./client.js";

export class Refused extends Error {
  constructor(status, code, message) {
    super(message || code || String(status));
    this.status = status;
    this.code = code;
  }
}

// Thrown when no answer came at all: the same key may be sent again.
export class Unreachable extends Error {}

export { idempotencyKey as newKey };

// POST `body` to `path` → the answer's JSON; a refusal throws Refused, a lost request Unreachable.
export async function post(path, body, key = idempotencyKey()) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify(body ?? {}),
    });
  } catch (err) {
    throw new Unreachable(err.message);
  }
  let answer = null;
  try { answer = await response.json(); } catch { /* an empty or HTML body */ }
  if (!response.ok) {
    const error = answer?.error ?? {};
    throw new Refused(response.status, error.code ?? "", error.message ?? response.statusText);
  }
  return answer;
}
