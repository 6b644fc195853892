// One Credential, live: provider, description, config, the names of its secret values (never a
// value: the API does not return them), its status, and the clusters that use it. A cluster
// uses a credential of its own namespace by name, or the catalog namespace's of that name when
// its namespace has none (docs/security.md#access-rules), so for a catalog credential the page
// also lists other namespaces' clusters when the caller may see them.

import { del, list, liveList, resourcePath } from "../api.js";
import { badge, byNamespaceName, chips, confirmDialog, errorBox, facts, h, jsonBlock, replaceChildren, table, timeAgo, toast } from "../ui.js";
import { credentialHref, readiness } from "./credentials.js";
import { CATALOG_NAMESPACE as CATALOG, clusterHref, phaseOf } from "../fleet.js";

function configTable(config) {
  const rows = Object.entries(config || {}).sort(([a], [b]) => a.localeCompare(b));
  return table(
    [
      { label: "Key", value: ([key]) => h("code", {}, key) },
      {
        label: "Value",
        value: ([, value]) => (typeof value === "string" ? value : h("code", {}, JSON.stringify(value))),
        className: "wrap",
      },
    ],
    rows,
    { empty: "No settings.", caption: "spec.config" },
  );
}

export async function render(main, params, ctx) {
  const { namespace: ns, name } = params;
  const [canUpdate, canDelete, everywhere] = await Promise.all([
    ctx.can("update", "credentials", ns),
    ctx.can("delete", "credentials", ns),
    ctx.can("list", "*/clusterdeployments"),
  ]);
  const catalogWide = ns === CATALOG && everywhere;

  const actions = h("div", { class: "actions" });
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const usersBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.append(
    h("p", { class: "crumbs" }, h("a", { href: "/ui/credentials" }, "Credentials"), ` / ${ns}`),
    h("div", { class: "page-head" }, h("h1", {}, name), actions),
    body,
    h(
      "section",
      { "aria-labelledby": "used-title" },
      h("h2", { id: "used-title" }, "Clusters using it"),
      usersBox,
    ),
  );

  if (canUpdate) {
    actions.append(h("a", { class: "button", href: `${credentialHref(ns, name)}/edit` }, "Edit"));
  }
  if (canDelete) {
    const remove = h("button", { type: "button", class: "button danger" }, "Delete");
    remove.addEventListener("click", async () => {
      const yes = await confirmDialog(
        `Delete credential ${name} in ${ns}? Its secret values are destroyed with it. Orbit refuses while a cluster uses it.`,
        { title: "Delete credential?", confirmLabel: "Delete", danger: true },
      );
      if (!yes) return;
      try {
        await del(resourcePath("credentials", ns, name));
        toast(`Credential ${name} deleted.`, "success");
        ctx.navigate("/ui/credentials");
      } catch (err) {
        toast(err.message, "error");
      }
    });
    actions.append(remove);
  }

  let cred = null;
  function draw() {
    if (!cred) {
      replaceChildren(body, h("p", { class: "notice" }, `There is no credential ${name} in ${ns}.`));
      return;
    }
    const s = cred.spec;
    const conditions = (cred.status && cred.status.conditions) || [];
    replaceChildren(
      body,
      facts([
        ["Namespace", ns === CATALOG ? [ns, " ", badge("catalog", "neutral")] : ns],
        ["Provider", s.provider],
        ["Description", s.description],
        ["Status", readiness(cred)],
        ["Created", timeAgo(cred.metadata.creationTimestamp)],
      ]),
      h("h2", {}, "Secret values"),
      h(
        "p",
        { class: "help" },
        "Only the names: values are write-only, encrypted at rest and never returned by the API, to anyone.",
      ),
      h("div", { class: "secret-keys" }, chips(s.secretKeys, { empty: "This credential holds no secret values.", label: "Secret keys" })),
      h("h2", {}, "Settings"),
      configTable(s.config),
      conditions.length
        ? [
            h("h2", {}, "Conditions"),
            table(
              [
                { label: "Type", value: (c) => c.type },
                { label: "Status", value: (c) => badge(c.status, c.status === "True" ? "ok" : "bad") },
                { label: "Reason", value: (c) => c.reason || "" },
                { label: "Message", value: (c) => c.message || "", className: "wrap" },
              ],
              conditions,
            ),
          ]
        : null,
      Object.keys(cred.metadata.labels || {}).length
        ? [h("h2", {}, "Labels"), jsonBlock(cred.metadata.labels, { label: "Labels" })]
        : null,
    );
  }

  // Namespaces with a credential of this name of their own do not use the catalog's.
  let shadowed = new Set();
  let clusters = new Map();
  function drawUsers() {
    const using = [...clusters.values()]
      .filter((c) => c.spec.credential === name)
      .filter((c) => c.metadata.namespace === ns || (catalogWide && !shadowed.has(c.metadata.namespace)))
      .sort(byNamespaceName);
    replaceChildren(
      usersBox,
      table(
        [
          {
            label: "Cluster",
            value: (c) => h("a", { href: clusterHref(c.metadata.namespace, c.metadata.name) }, c.metadata.name),
          },
          { label: "Namespace", value: (c) => c.metadata.namespace },
          { label: "Phase", value: (c) => badge(phaseOf(c)) },
          { label: "Template", value: (c) => c.spec.template },
        ],
        using,
        { empty: "No cluster uses this credential.", caption: "Clusters that name this credential" },
      ),
      catalogWide ? null : ns === CATALOG ? h("p", { class: "help" }, "Clusters of other namespaces may use it too (through an AccessRule); your roles show this namespace only.") : null,
    );
  }

  let stop;
  try {
    stop = await liveList(resourcePath("credentials", ns), (objects) => {
      cred = objects.get(`${ns}/${name}`) || null;
      draw();
    });
  } catch (err) {
    replaceChildren(body, errorBox(err));
    replaceChildren(usersBox);
    return null;
  }
  let stopClusters = null;
  try {
    if (catalogWide) {
      const all = (await list(resourcePath("credentials"))).items;
      shadowed = new Set(all.filter((c) => c.metadata.name === name && c.metadata.namespace !== ns).map((c) => c.metadata.namespace));
    }
    stopClusters = await liveList(resourcePath("clusterdeployments", catalogWide ? "" : ns), (objects) => {
      clusters = objects;
      drawUsers();
    });
  } catch (err) {
    replaceChildren(usersBox, errorBox(err));
  }
  return () => {
    stop();
    if (stopClusters) stopClusters();
  };
}
