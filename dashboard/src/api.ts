// The REST API as the dashboard calls it: the API key from the browser session (or an Entra access token), problem+json
// errors turned into messages, and conditional GETs so that polling costs the server a 304 while nothing changed.
import { SignInRequired } from "./entra";
import type { ListPage } from "./types";

const keyName = "pdm.apiKey";
const base = "/api/v1";

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) {
    super(message);
  }
}

export function storedKey(): string | null {
  return sessionStorage.getItem(keyName);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(keyName, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(keyName);
  tokenSource = null;
  cache.clear();
}

/** Where the bearer comes from while signed in with Entra ID: a fresh access token per call, instead of the key. */
let tokenSource: (() => Promise<string>) | null = null;

export function useTokens(source: () => Promise<string>): void {
  tokenSource = source;
}

interface Cached {
  etag: string;
  body: unknown;
}

const cache = new Map<string, Cached>();

/** Called when the server refuses the key (revoked while signed in): the app goes back to the sign-in screen. */
let onUnauthorized: (message: string) => void = () => {};

export function whenUnauthorized(handler: (message: string) => void): void {
  onUnauthorized = handler;
}

async function send(method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = {
    method,
    cache: "no-store",
    headers: { Authorization: `Bearer ${key}`, Accept: "application/json", ...headers },
  };
  if (body !== undefined) {
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(base + path, init);
}

async function problem(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  let field: string | undefined;
  try {
    const json = await response.json();
    if (json && typeof json === "object") {
      const errors = json.errors as Record<string, string[]> | undefined;
      if (errors) {
        field = Object.keys(errors)[0];
      }
      message = json.detail ?? json.title ?? message;
    }
  } catch {
    // Not JSON: the status line says enough.
  }
  return new ApiError(response.status, message, field);
}

async function requireBearer(): Promise<string> {
  if (tokenSource) {
    try {
      return await tokenSource();
    } catch (e) {
      if (e instanceof SignInRequired) {
        onUnauthorized(e.message);
        throw new ApiError(401, e.message);
      }
      throw e;
    }
  }
  const key = storedKey();
  if (!key) {
    throw new ApiError(401, "Not signed in.");
  }
  return key;
}

async function check(response: Response): Promise<Response> {
  if (response.ok || response.status === 304) {
    return response;
  }
  const error = await problem(response);
  if (response.status === 401) {
    onUnauthorized(error.message);
  }
  throw error;
}

/** A screen's list shows the first page of at most this many rows: the largest page the API gives. */
export const shownRows = 1000;

/**
 * GET with If-None-Match: the last answer comes back from the cache on 304. `changed` says whether it is new, so a
 * screen redraws only when something changed.
 */
export async function get<T>(path: string): Promise<{ body: T; changed: boolean }> {
  const cached = cache.get(path);
  const response = await check(await send("GET", path, await requireBearer(), undefined, cached ? { "If-None-Match": cached.etag } : {}));
  if (response.status === 304 && cached) {
    // Read the (empty) body to its end: a response left unread is torn down as an aborted load.
    await response.arrayBuffer();
    return { body: cached.body as T, changed: false };
  }
  const body = (await response.json()) as T;
  const etag = response.headers.get("ETag");
  if (etag) {
    cache.set(path, { etag, body });
  }
  return { body, changed: true };
}

export async function post<T>(path: string, body?: unknown): Promise<T | null> {
  const response = await check(await send("POST", path, await requireBearer(), body ?? {}));
  return response.status === 204 ? null : ((await response.json()) as T);
}

export async function del(path: string): Promise<void> {
  await check(await send("DELETE", path, await requireBearer()));
}

/** Tries a key before keeping it: the tenant list answers every valid key (a tenant key sees its own tenant; a platform key the first page). */
export async function signIn(key: string): Promise<Tenant[]> {
  const response = await send("GET", "/tenants", key);
  if (!response.ok) {
    const error = await problem(response);
    throw new ApiError(response.status, response.status === 401 ? "That API key is unknown or revoked. Check it and try again." : error.message);
  }
  const tenants = ((await response.json()) as ListPage<Tenant>).items;
  storeKey(key);
  return tenants;
}

/** Signs in with an Entra access token: the same question as for a key, with the API's own words when it refuses. */
export async function signInWithToken(token: string): Promise<Tenant[]> {
  const response = await send("GET", "/tenants", token);
  if (!response.ok) {
    throw await problem(response);
  }
  return ((await response.json()) as ListPage<Tenant>).items;
}

export interface Tenant {
  id: string;
  name: string;
}

export const enc = encodeURIComponent;
