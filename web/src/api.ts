// The API client. The token from the login form is sent once (POST /api/session) and
// traded for an HttpOnly session cookie; it is never stored in the page nor put in a URL.
// Every request, event stream and image then carries the cookie. JSON errors become
// exceptions with the server's message. The response types are generated from the
// OpenAPI document at build time (src/generated/api-types.ts).
import type { Job, Session } from "./generated/api-types";
export type * from "./generated/api-types";

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

async function send(method: string, path: string, body?: BodyInit, type?: string, auth?: string): Promise<[Response, string]> {
  const headers: Record<string, string> = {};
  if (auth) headers["Authorization"] = `Bearer ${auth}`;
  if (type) headers["Content-Type"] = type;
  const res = await fetch(path, { method, headers, body, credentials: "same-origin" });
  return [res, await res.text()];
}

async function request<T>(method: string, path: string, body?: BodyInit, type?: string, auth?: string): Promise<T> {
  const [res, text] = await send(method, path, body, type, auth);
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

// A chart as SVG text, drawn by the server (charts.ts); errors come back as JSON.
export async function drawChart(spec: unknown): Promise<string> {
  const [res, text] = await send("POST", "/api/charts", JSON.stringify(spec), "application/json");
  if (res.ok) return text;
  let message = `HTTP ${res.status}`;
  try {
    message = (JSON.parse(text) as { error?: string }).error ?? message;
  } catch { /* not JSON: keep the status */ }
  throw new ApiError(res.status, `chart: ${message}`);
}

// Trades the token for a session cookie.
export const login = (token: string) => request<Session>("POST", "/api/session", "", undefined, token);
// Who the browser is logged in as (user null: not logged in).
export const session = () => get<Session>("/api/session");

// Server-Sent Events of a job (the session cookie authenticates the stream).
export function followJob(id: number, onEvent: (data: JobEventData) => void, onEnd: (job: Job) => void): EventSource {
  const es = new EventSource(`/api/jobs/${id}/stream`);
  es.addEventListener("job", (e) => onEvent(JSON.parse((e as MessageEvent).data).data));
  es.addEventListener("end", (e) => {
    es.close();
    onEnd(JSON.parse((e as MessageEvent).data));
  });
  return es;
}

// What a job's event stream carries in each event (the `data` of a JobEvent): a log line,
// an epoch's metrics, a step's state.
export interface JobEventData { type: string; [k: string]: unknown }
