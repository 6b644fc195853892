// Who the caller is and what they may do, so pages offer only what is allowed (the server
// still enforces every request). Answers are cached until clearAuthCache() (sign in/out).

import { API, list, request } from "./api.js";

let me = null; // Promise of the whoami body
const ruleCache = new Map(); // namespace ("" = global) -> Promise of {resource: [verbs]}

/** GET /auth/v1/whoami: {user, groups, scopes, tokenId, roles: {global: [...],
 * namespaces: {ns: [...]}}}. Rejects with ApiError 401 when nobody is signed in. */
export function whoami({ refresh = false } = {}) {
  if (!me || refresh) {
    me = request("GET", "/auth/v1/whoami");
    me.catch(() => {
      me = null;
    });
  }
  return me;
}

/** The verbs the caller may use per resource, in `namespace` (its namespaced kinds,
 * "clusterdeployments/proxy", "clusterdeployments/kubeconfig", ".../status", "namespaces")
 * or, when `namespace` is empty, globally (cluster-scoped kinds, "audit", "tokens", "admin",
 * and "*\/<plural>" for lists across all namespaces). */
export function rules(namespace = "") {
  const ns = namespace || "";
  if (!ruleCache.has(ns)) {
    const answer = request("GET", "/auth/v1/rules", { query: { namespace: ns } }).then(
      (body) => body.rules || {},
    );
    answer.catch(() => ruleCache.delete(ns));
    ruleCache.set(ns, answer);
  }
  return ruleCache.get(ns);
}

/** Whether the caller may `verb` `resource` in `namespace` (empty: globally). Never throws:
 * when the rules cannot be read, the answer is false. */
export async function can(verb, resource, namespace = "") {
  try {
    const granted = await rules(namespace);
    return (granted[resource] || []).includes(verb);
  } catch {
    return false;
  }
}

export function clearAuthCache() {
  me = null;
  ruleCache.clear();
}

/** The namespaces the caller can see: every Namespace when they may list them, else those
 * their role bindings name. Sorted names. */
export async function visibleNamespaces() {
  if (await can("list", "namespaces")) {
    try {
      const body = await list(`${API}/namespaces`);
      return body.items.map((ns) => ns.metadata.name).sort();
    } catch {
      // fall back to the bindings below
    }
  }
  const who = await whoami();
  return Object.keys((who.roles && who.roles.namespaces) || {}).sort();
}

/** Sign in with an API token: the server checks it and keeps it in an HttpOnly cookie. */
export async function signIn(token) {
  clearAuthCache();
  return request("POST", "/auth/v1/session", { body: { token } });
}

export async function signOut() {
  clearAuthCache();
  return request("DELETE", "/auth/v1/session");
}

/** GET /auth/v1/oidc: {enabled, issuer}; {enabled: false} when it cannot be read. */
export async function oidcInfo() {
  try {
    return await request("GET", "/auth/v1/oidc");
  } catch {
    return { enabled: false, issuer: null };
  }
}
