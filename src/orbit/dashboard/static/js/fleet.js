// What the cluster pages (overview, clusters, cluster, create) share: a cluster's phase,
// provider and expiry, durations as the API writes them, the ClusterTemplates a namespace can
// see (its own and the catalog's), and the link to a cluster's page.

import { list, resourcePath } from "./api.js";
import { byNamespaceName } from "./ui.js";

/** The shared catalog namespace: its ClusterTemplates, ServiceTemplates and Credentials are
 * usable where an AccessRule allows. The server's setting, from whoami (see app.js). */
export let CATALOG_NAMESPACE = "default";

export function setCatalogNamespace(namespace) {
  if (namespace) CATALOG_NAMESPACE = namespace;
}

/** Most urgent first. */
export const PHASE_ORDER = ["Failed", "Deleting", "Provisioning", "Updating", "Pending", "Ready"];

/** A cluster's phase as `orbit get` shows it: Deleting once deletion started. */
export function phaseOf(cluster) {
  if (cluster.metadata && cluster.metadata.deletionTimestamp) return "Deleting";
  return (cluster.status && cluster.status.phase) || "Pending";
}

export function phaseRank(phase) {
  const i = PHASE_ORDER.indexOf(phase);
  return i < 0 ? PHASE_ORDER.length : i;
}

/** The link to a cluster's page. */
export function clusterHref(namespace, name) {
  return `/ui/clusters/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** The template's name the cluster is on (or moving to). */
export function templateOf(cluster) {
  return cluster.spec.template || (cluster.status && cluster.status.template) || "";
}

// `1d2h30m10s`, any subset in that order (orbit.api.v1alpha1.parse_duration).
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Milliseconds of a duration such as `90s`, `2h`, `1h30m`, `7d`; null when it is not one. */
export function parseDuration(text) {
  const value = String(text || "").trim();
  const m = DURATION.exec(value);
  if (!value || !m || !m.slice(1).some(Boolean)) return null;
  const [d, h, min, s] = m.slice(1).map((g) => Number(g || 0));
  return (((d * 24 + h) * 60 + min) * 60 + s) * 1000;
}

/** The API's own message for a bad duration (ClusterDeployment spec.ttl). */
export function durationError(text) {
  return `'${text}' is not a duration: use forms like 90s, 15m, 2h, 7d or 1h30m`;
}

/** Milliseconds as the shortest duration text the API reads (`1d2h`, `90m` -> `1h30m`). */
export function formatDuration(ms) {
  let seconds = Math.max(0, Math.round(ms / 1000));
  const parts = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    const n = Math.floor(seconds / size);
    seconds -= n * size;
    if (n) parts.push(`${n}${unit}`);
  }
  return parts.join("") || "0s";
}

/** When the cluster will be torn down (a Date), or null: status.expiresAt, else from
 * spec.expiresAt or creation + spec.ttl. */
export function expiryOf(cluster) {
  const status = cluster.status || {};
  if (status.expiresAt) return new Date(status.expiresAt);
  if (cluster.spec.expiresAt) return new Date(cluster.spec.expiresAt);
  const ttl = parseDuration(cluster.spec.ttl);
  const created = Date.parse(cluster.metadata.creationTimestamp || "");
  if (ttl !== null && !Number.isNaN(created)) return new Date(created + ttl);
  return null;
}

/** A local date and time for a title attribute. */
export function fullTime(when) {
  if (!when) return "";
  const date = when instanceof Date ? when : new Date(when);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

/** Labels as `k=v, k=v`. */
export function labelText(labels) {
  return Object.entries(labels || {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** The ClusterTemplates a view of `namespace` ("" = all namespaces) can name: a Map
 * "namespace/name" -> template. A namespace sees its own and the catalog's (which the caller
 * may not be allowed to list: then only its own). */
export async function loadTemplates(namespace) {
  const found = new Map();
  const sources = namespace
    ? [...new Set([namespace, CATALOG_NAMESPACE])].map((ns) => resourcePath("clustertemplates", ns))
    : [resourcePath("clustertemplates")];
  const answers = await Promise.allSettled(sources.map((path) => list(path)));
  answers.forEach((answer, i) => {
    if (answer.status === "rejected") {
      if (i === 0) throw answer.reason; // the namespace's own: the caller should see it
      return;
    }
    for (const t of answer.value.items) found.set(`${t.metadata.namespace}/${t.metadata.name}`, t);
  });
  return found;
}

/** The template a cluster names, as admission resolves it: its namespace's own, else the
 * catalog's. Undefined when not (yet) known. */
export function templateFor(cluster, templates) {
  const name = templateOf(cluster);
  const ns = cluster.metadata.namespace;
  return templates.get(`${ns}/${name}`) || templates.get(`${CATALOG_NAMESPACE}/${name}`);
}

/** The provider of a cluster ("" when its template is unknown). */
export function providerOf(cluster, templates) {
  const template = templateFor(cluster, templates);
  return (template && template.spec.provider) || "";
}

/** Ready over total nodes ("2/3"), blank before the cluster reports any. */
export function nodesText(cluster) {
  const nodes = (cluster.status && cluster.status.nodes) || {};
  return nodes.total ? `${nodes.ready}/${nodes.total}` : "";
}

/** Most urgent phase first, then by namespace and name. */
export function byUrgency(a, b) {
  return phaseRank(phaseOf(a)) - phaseRank(phaseOf(b)) || byNamespaceName(a, b);
}
