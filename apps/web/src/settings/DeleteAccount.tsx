/** Filled in when auth.deleteAccount lands. */
export function DeleteAccount() {
  return null;
}
