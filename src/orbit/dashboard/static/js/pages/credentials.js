// Credentials: access to infrastructure accounts, live. Never a secret: the API returns only
// `spec.secretKeys`, the names of the values a credential holds (docs/security.md#secrets), and
// that is all this page shows. "Used by" counts the namespace's clusters naming it.

import { liveList, resourcePath } from "../api.js";
import { badge, byNamespaceName, chips, errorBox, h, replaceChildren, table } from "../ui.js";

export function credentialHref(namespace, name) {
  return `/ui/credentials/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

export function readiness(cred) {
  const ready = cred.status && cred.status.ready;
  if (ready === true) return badge("Ready", "ok");
  if (ready === false) return badge("Not ready", "bad");
  return badge("Unknown", "neutral");
}

/** The namespaces the caller sees in which they may `verb` credentials. */
export async function writableNamespaces(ctx, verb = "create") {
  const answers = await Promise.all(ctx.namespaces.map((ns) => ctx.can(verb, "credentials", ns)));
  return ctx.namespaces.filter((ns, i) => answers[i]);
}

export async function render(main, params, ctx) {
  const scope = ctx.namespace ? `in ${ctx.namespace}` : "in all namespaces";
  const actions = h("div", { class: "actions" });
  const box = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Credentials"), actions),
    h(
      "p",
      { class: "lead" },
      `Access to infrastructure accounts ${scope}. Secret values are write-only: only their names are ever shown.`,
    ),
    box,
  );
  const writable = ctx.namespace
    ? (await ctx.can("create", "credentials", ctx.namespace)) ? [ctx.namespace] : []
    : await writableNamespaces(ctx);
  if (writable.length) {
    const query = ctx.namespace ? `?namespace=${encodeURIComponent(ctx.namespace)}` : "";
    actions.append(h("a", { class: "button primary", href: `/ui/credentials/new${query}` }, "New credential"));
  }

  let credentials = new Map();
  let clusters = null; // null: not readable
  function draw() {
    const used = new Map();
    for (const c of (clusters || new Map()).values()) {
      const key = `${c.metadata.namespace}/${c.spec.credential}`;
      used.set(key, (used.get(key) || 0) + 1);
    }
    const items = [...credentials.values()].sort(byNamespaceName);
    replaceChildren(
      box,
      table(
        [
          {
            label: "Name",
            value: (c) => h("a", { href: credentialHref(c.metadata.namespace, c.metadata.name) }, c.metadata.name),
          },
          ctx.namespace ? null : { label: "Namespace", value: (c) => c.metadata.namespace },
          { label: "Provider", value: (c) => c.spec.provider },
          { label: "Description", value: (c) => c.spec.description || "", className: "wrap" },
          { label: "Secret keys", value: (c) => chips(c.spec.secretKeys, { label: "Secret keys" }) },
          { label: "Status", value: readiness },
          {
            label: "Clusters",
            value: (c) => (clusters ? String(used.get(`${c.metadata.namespace}/${c.metadata.name}`) || 0) : "—"),
          },
        ].filter(Boolean),
        items,
        { empty: `No credentials ${scope}.`, caption: "Credentials" },
      ),
    );
  }

  let stopCredentials;
  try {
    stopCredentials = await liveList(resourcePath("credentials", ctx.namespace), (objects) => {
      credentials = objects;
      draw();
    });
  } catch (err) {
    replaceChildren(box, errorBox(err));
    return null;
  }
  let stopClusters = null;
  try {
    stopClusters = await liveList(resourcePath("clusterdeployments", ctx.namespace), (objects) => {
      clusters = objects;
      draw();
    });
  } catch {
    // Counting users is a nicety: without it the column says "—".
  }
  return () => {
    stopCredentials();
    if (stopClusters) stopClusters();
  };
}
