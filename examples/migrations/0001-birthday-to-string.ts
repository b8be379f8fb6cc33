/**
 * User.birthday was stored as a timestamp; the model now stores it as a
 * "YYYY-MM-DD" string. Deploy code that reads both forms first, run
 * `dspipe migrate up`, then remove the shim.
 *
 * Entities that already hold a string (written by the new code) are left
 * alone, so the script can run while the application writes.
 */
import type { EntityHelper } from 'dspipe';

export const kind = 'User';
export const description = 'birthday: timestamp -> "YYYY-MM-DD" string';

export function transform(user: EntityHelper): EntityHelper | undefined {
  const birthday = user.get('birthday');
  if (!(birthday instanceof Date)) return undefined; // already a string, or missing
  // Birthdays were saved as midnight UTC; the date part is the birthday.
  user.set('birthday', birthday.toISOString().slice(0, 10));
  return user;
}
