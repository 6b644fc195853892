// The REST API, as the dashboard uses it: same origin, the session cookie, JSON in and out.
//
// Every failure is an ApiError built from the server's Kubernetes Status body (docs/api.md),
// so forms can show `causes` next to their fields. Writes carry `X-Orbit-CSRF: 1`, which the
// server requires of cookie-authenticated writes. A 401 anywhere calls the handler set with
// onUnauthorized (the app sends the user to the login page).

export const GROUP_VERSION = "orbit.k8or.io/v1alpha1";
export const API = `/apis/${GROUP_VERSION}`;

/** A failed request: `code` (HTTP status, 0 for a network failure), `reason` (Status reason,
 * e.g. "Invalid", "Forbidden"), `message`, `causes` ([{field, message, reason}]). */
export class ApiError extends Error {
  constructor({ code = 0, reason = "Unknown", message = "request failed", causes = [] } = {}) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.reason = reason;
    this.causes = causes;
  }
}

let unauthorizedHandler = null;

/** Call `fn(error)` whenever a request answers 401 (the session ended). */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/** The API path of a kind's list (`name` omitted) or of one object. `namespace` empty or
 * null: across all namespaces (namespaced kinds) or a cluster-scoped kind. */
export function resourcePath(plural, namespace = null, name = null) {
  const enc = encodeURIComponent;
  let path = namespace ? `${API}/namespaces/${enc(namespace)}/${plural}` : `${API}/${plural}`;
  if (name) path += `/${enc(name)}`;
  return path;
}

/** `path` with `query` (an object; null/undefined/"" values are left out) appended. */
export function withQuery(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  if (!text) return path;
  return path + (path.includes("?") ? "&" : "?") + text;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const details = (body && body.details) || {};
  const error = new ApiError({
    code: response.status,
    reason: (body && body.reason) || response.statusText || "Error",
    message: (body && body.message) || `${response.status} ${response.statusText}`,
    causes: (details.causes || []).map((c) => ({
      field: c.field || "",
      message: c.message || "",
      reason: c.reason || "",
    })),
  });
  if (response.status === 401 && unauthorizedHandler) unauthorizedHandler(error);
  return error;
}

function networkError(err) {
  return new ApiError({ code: 0, reason: "NetworkError", message: `Orbit did not answer: ${err.message}` });
}

/** One request. `body` is sent as JSON; answers the parsed JSON body (null when empty). */
export async function request(method, path, { body, query, contentType, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-Orbit-CSRF"] = "1";
  const init = { method, headers, credentials: "same-origin", signal };
  if (body !== undefined) {
    headers["Content-Type"] = contentType || "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw networkError(err);
  }
  if (!response.ok) throw await errorFrom(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** A list body ({items, metadata: {resourceVersion}}); every page is fetched and joined. */
export async function list(path, { labelSelector, signal } = {}) {
  let page = await request("GET", path, { query: { labelSelector }, signal });
  const items = [...(page.items || [])];
  while (page.metadata && page.metadata.continue) {
    page = await request("GET", path, {
      query: { labelSelector, continue: page.metadata.continue },
      signal,
    });
    items.push(...(page.items || []));
  }
  return { ...page, items };
}

export function get(path, { signal } = {}) {
  return request("GET", path, { signal });
}

/** POST `body` to a list path; `dryRun: true` validates and admits without storing. */
export function create(path, body, { dryRun = false } = {}) {
  return request("POST", path, { body, query: { dryRun: dryRun ? "All" : null } });
}

/** PUT (replace) an object. */
export function replace(path, body, { dryRun = false } = {}) {
  return request("PUT", path, { body, query: { dryRun: dryRun ? "All" : null } });
}

/** JSON merge patch (RFC 7396): objects merge, null removes a key, lists replace. */
export function patch(path, mergePatch, { dryRun = false } = {}) {
  return request("PATCH", path, {
    body: mergePatch,
    contentType: "application/merge-patch+json",
    query: { dryRun: dryRun ? "All" : null },
  });
}

export function del(path) {
  return request("DELETE", path);
}

function rvOf(obj) {
  return (obj && obj.metadata && obj.metadata.resourceVersion) || "";
}

function laterRv(a, b) {
  if (!a) return b;
  if (!b) return a;
  return Number(b) > Number(a) ? b : a;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Follow a list path's changes. `onEvent({type, object})` gets ADDED, MODIFIED and DELETED
 * (BOOKMARKs are consumed here). The stream resumes after a disconnect from the last
 * resourceVersion seen; when the server answers 410 Expired the watch lists again and emits
 * one `{type: "SYNC", objects: [...]}` with the full current list (drop what you hold and take
 * these), then follows from there. Without `resourceVersion` the server starts with ADDED for
 * every current object. `onError(ApiError)` hears failures (it keeps retrying, except after a
 * 401 or 403). Returns `stop()`; call it when the page goes away (browsers allow only ~6
 * open connections per server, so every watch must be stopped). */
export function watch(path, onEvent, { resourceVersion = "", labelSelector = "", onError } = {}) {
  let stopped = false;
  let controller = null;
  let rv = resourceVersion;
  let delay = 500;

  async function relist() {
    const body = await list(path, { labelSelector });
    rv = rvOf(body);
    onEvent({ type: "SYNC", objects: body.items });
  }

  async function handle(event) {
    if (event.type === "ERROR") {
      const status = event.object || {};
      if (status.code === 410) {
        await relist();
        return;
      }
      throw new ApiError({ code: status.code || 500, reason: status.reason, message: status.message });
    }
    rv = laterRv(rv, rvOf(event.object));
    if (event.type !== "BOOKMARK") onEvent(event);
  }

  async function once() {
    controller = new AbortController();
    const url = withQuery(path, { watch: "true", resourceVersion: rv, labelSelector });
    let response;
    try {
      response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw networkError(err);
    }
    if (!response.ok) throw await errorFrom(response);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) await handle(JSON.parse(line));
        delay = 500; // a healthy stream: the next reconnect is quick again
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (err) {
        if (stopped || err.name === "AbortError") return;
        if (onError) onError(err);
        if (err.code === 401 || err.code === 403) return;
      }
      if (stopped) return;
      await sleep(delay);
      delay = Math.min(delay * 2, 10000);
    }
  })();

  return function stop() {
    stopped = true;
    if (controller) controller.abort();
  };
}

/** The key liveList files an object under: "namespace/name" ("/name" when cluster-scoped). */
export function keyOf(obj) {
  return `${obj.metadata.namespace || ""}/${obj.metadata.name}`;
}

/** List `path`, then watch it, keeping `objects` (a Map keyOf(obj) -> obj) current.
 * `onChange(objects, event)` runs after the first list (event null) and after every change
 * (event {type, object}, or {type: "SYNC"} after a relist). Resolves to `stop()` once the
 * first list is in; rejects with its ApiError (e.g. 403) so the page can say why. */
export async function liveList(path, onChange, { labelSelector = "", onError } = {}) {
  const objects = new Map();
  const first = await list(path, { labelSelector });
  for (const obj of first.items) objects.set(keyOf(obj), obj);
  onChange(objects, null);
  return watch(
    path,
    (event) => {
      if (event.type === "SYNC") {
        objects.clear();
        for (const obj of event.objects) objects.set(keyOf(obj), obj);
      } else if (event.type === "DELETED") {
        objects.delete(keyOf(event.object));
      } else {
        objects.set(keyOf(event.object), event.object);
      }
      onChange(objects, event);
    },
    { resourceVersion: rvOf(first), labelSelector, onError },
  );
}

// ---- Shared by the Templates, Services, Credentials, Audit and Users pages -----------------

/** A Kubernetes LabelSelector ({matchLabels, matchExpressions}) in the labelSelector query
 * syntax the list and watch routes take ("a=b,c in (x,y),d,!e"); "" matches everything. */
export function selectorQuery(selector) {
  const terms = [];
  const labels = (selector && selector.matchLabels) || {};
  for (const key of Object.keys(labels).sort()) terms.push(`${key}=${labels[key]}`);
  for (const req of (selector && selector.matchExpressions) || []) {
    const values = (req.values || []).join(",");
    if (req.operator === "In") terms.push(`${req.key} in (${values})`);
    else if (req.operator === "NotIn") terms.push(`${req.key} notin (${values})`);
    else if (req.operator === "Exists") terms.push(req.key);
    else terms.push(`!${req.key}`);
  }
  return terms.join(",");
}

// ---- Shared by the Overview and cluster pages ---------------------------------------------

/** GET a non-JSON answer (a kubeconfig's YAML) as text; failures are ApiErrors as usual. */
export async function getText(path, { accept = "*/*" } = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: accept }, credentials: "same-origin" });
  } catch (err) {
    throw networkError(err);
  }
  if (!response.ok) throw await errorFrom(response);
  return response.text();
}
