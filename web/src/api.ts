// The API client. The token from the login form is sent once (POST /api/session) and
// traded for an HttpOnly session cookie; it is never stored in the page nor put in a URL.
// Every request, event stream and image then carries the cookie. JSON errors become
// exceptions with the server's message.

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: BodyInit, type?: string, auth?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (auth) headers["Authorization"] = `Bearer ${auth}`;
  if (type) headers["Content-Type"] = type;
  const res = await fetch(path, { method, headers, body, credentials: "same-origin" });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(res.status, `${method} ${path}: not JSON (${res.status})`);
  }
  if (!res.ok) {
    const message = (json as { error?: string } | null)?.error ?? `HTTP ${res.status}`;
    throw new ApiError(res.status, message);
  }
  return json as T;
}

export const get = <T>(path: string) => request<T>("GET", path);
export const post = <T>(path: string, body: unknown) =>
  request<T>("POST", path, JSON.stringify(body), "application/json");
export const patch = <T>(path: string, body: unknown) =>
  request<T>("PATCH", path, JSON.stringify(body), "application/json");
export const upload = <T>(path: string, form: FormData) => request<T>("POST", path, form);

export interface Session { user: string | null }
// Trades the token for a session cookie.
export const login = (token: string) => request<Session>("POST", "/api/session", "", undefined, token);
// Who the browser is logged in as (user null: not logged in).
export const session = () => get<Session>("/api/session");

// Server-Sent Events of a job (the session cookie authenticates the stream).
export function followJob(id: number, onEvent: (data: JobEvent) => void, onEnd: (job: Job) => void): EventSource {
  const es = new EventSource(`/api/jobs/${id}/stream`);
  es.addEventListener("job", (e) => onEvent(JSON.parse((e as MessageEvent).data).data));
  es.addEventListener("end", (e) => {
    es.close();
    onEnd(JSON.parse((e as MessageEvent).data));
  });
  return es;
}

export interface Dataset { name: string; latest_version: number; created_ms: number }
export interface Version { id: number; number: number; note: string; classes: string[]; members: number }
export interface Job {
  id: number; kind: string; status: string; progress: number; message: string;
  params: Record<string, unknown>; result: Record<string, unknown>; created_ms: number; cancel_requested: boolean;
}
export interface JobEvent { type: string; [k: string]: unknown }
export interface Spec { name: string; file: string; input: number[]; classes: number; macs: number; uploaded: boolean }
