import { CliError, EXIT, type ExitCode } from './exit-codes.js';

export interface HttpCall {
  server: string;
  token: string | undefined;
}

const STATUS_EXIT: Record<number, ExitCode> = { 401: EXIT.DENIED, 403: EXIT.DENIED, 404: EXIT.NOT_FOUND };

/** The `Authorization` header for a token (none without one). */
export const authHeaders = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

/** A refused answer as one line: the server's `{error:{code,message}}` when it sent one. */
export async function refusal(response: Response, what: string): Promise<CliError> {
  const text = await response.text().catch(() => '');
  let detail = text.trim().split('\n')[0] ?? '';
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.message) detail = `${body.error.code ?? response.status}: ${body.error.message}`;
  } catch {
    // Not JSON: the first line of the text is the message.
  }
  return new CliError(`${what}: ${detail || `HTTP ${response.status}`}`, STATUS_EXIT[response.status] ?? EXIT.ERROR);
}

/** A request to the server's HTTP API, refused answers thrown as a CliError. */
export async function call(
  target: HttpCall,
  method: string,
  path: string,
  init: { query?: Record<string, string | undefined> } = {},
): Promise<Response> {
  const url = new URL(`${target.server}${path}`);
  for (const [key, value] of Object.entries(init.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
  const response = await fetch(url, { method, headers: authHeaders(target.token) });
  if (!response.ok) throw await refusal(response, `${method} ${url.pathname}`);
  return response;
}

export const resourcePath = (resource: string): string => `/api/v1/resources/${encodeURIComponent(resource)}`;
