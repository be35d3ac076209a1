// The API client: the token from the login form (kept in localStorage), JSON errors
// turned into exceptions with the server's message.
export function token(): string {
  return localStorage.getItem("tinymlaas-token") ?? "";
}

export function setToken(t: string): void {
  localStorage.setItem("tinymlaas-token", t);
}

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: BodyInit, type?: string): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token()}` };
  if (type) headers["Content-Type"] = type;
  const res = await fetch(path, { method, headers, body });
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

// Server-Sent Events of a job; EventSource cannot send headers, so the token rides along.
export function followJob(id: number, onEvent: (data: JobEvent) => void, onEnd: (job: Job) => void): EventSource {
  const es = new EventSource(`/api/jobs/${id}/stream?token=${encodeURIComponent(token())}`);
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
