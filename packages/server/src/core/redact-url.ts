/** An engine URL with its password hidden: what error messages and logs show. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Query parameters that carry secrets (`?token=` is a credential on every path). */
const SECRET_PARAMS = /([?&](?:token|access_token)=)[^&#]*/gi;

/** A request target (`/path?query`) as logs show it: credentials in the query hidden. */
export function redactTarget(target: string): string {
  return target.replace(SECRET_PARAMS, '$1***');
}
