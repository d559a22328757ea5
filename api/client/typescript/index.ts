// courierd's API for partner systems: every route of docs/openapi.json, typed. The types in
// schema.ts are generated (npm run generate); this file only binds them to openapi-fetch.
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { paths, components } from "./schema.ts";

export type { paths, components };
export type Problem = components["schemas"]["Problem"];

// courierd returns a client for the server at baseUrl; token, when given, is sent as the
// bearer of every call (a partner's access token from POST /v1/oauth/token).
export function courierd(baseUrl: string, token?: string, options: ClientOptions = {}): Client<paths> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  return createClient<paths>({ baseUrl, ...options, headers: { ...headers, ...(options.headers as Record<string, string>) } });
}
