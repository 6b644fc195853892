// Templates: the ClusterTemplates and ServiceTemplates of the chosen namespace and of the shared
// catalog namespace, with version, provider, Kubernetes version and upgrade paths.
//
// Templates are immutable (a new version is a new object), so the page lists them once instead
// of holding two watches open. The catalog namespace is Orbit's default one (fleet.js,
// docs/security.md#access-rules); people without a role there see their own templates only.

import { list, resourcePath } from "../api.js";
import { CATALOG_NAMESPACE as CATALOG } from "../fleet.js";
import { badge, byNamespaceName, errorBox, h, replaceChildren, table } from "../ui.js";

/** The path of a template's page. `plural`: "clustertemplates" or "servicetemplates". */
export function templateHref(plural, namespace, name) {
  const enc = encodeURIComponent;
  return `/ui/templates/${plural}/${enc(namespace)}/${enc(name)}`;
}

/** The templates of `plural` the page shows: every namespace (namespace ""), or the namespace
 * and the catalog. Answers {items, notes}: notes say what could not be read and why. */
export async function loadTemplates(plural, namespace) {
  const namespaces = namespace ? [...new Set([namespace, CATALOG])] : [""];
  const items = [];
  const notes = [];
  for (const ns of namespaces) {
    try {
      items.push(...(await list(resourcePath(plural, ns))).items);
    } catch (err) {
      if (ns === CATALOG && ns !== namespace && err.code === 403) {
        notes.push(`The catalog namespace "${CATALOG}" is not readable with your roles.`);
      } else {
        throw err;
      }
    }
  }
  items.sort(byNamespaceName);
  return { items, notes };
}

function where(t, namespace) {
  const ns = t.metadata.namespace;
  return ns === CATALOG && namespace !== CATALOG ? [ns, " ", badge("catalog", "neutral")] : ns;
}

function matches(t, text) {
  if (!text) return true;
  const s = t.spec || {};
  const hay = [t.metadata.name, t.metadata.namespace, s.provider, s.description, s.version]
    .join(" ")
    .toLowerCase();
  return hay.includes(text.toLowerCase());
}

function upgradeLinks(t) {
  const targets = t.spec.upgradeTo || [];
  if (!targets.length) return h("span", { class: "muted" }, "none");
  return targets.map((name, i) => [
    i ? ", " : "",
    h("a", { href: templateHref("clustertemplates", t.metadata.namespace, name) }, name),
  ]);
}

/** The source of a ServiceTemplate in a few words. */
export function sourceOf(spec) {
  if (spec.git) return `git ${spec.git.url}@${spec.git.ref || "main"}:${spec.git.path || "."}`;
  if (spec.helm) return `helm ${spec.helm.chart}${spec.helm.version ? ` ${spec.helm.version}` : ""}`;
  return "inline manifests";
}

/** The Valid badge of a ServiceTemplate's status. */
export function validity(t) {
  const valid = t.status && t.status.valid;
  if (valid === true) return badge("Valid", "ok");
  if (valid === false) return badge("Invalid", "bad");
  return badge("Checking", "neutral");
}

export async function render(main, params, ctx) {
  const scope = ctx.namespace ? `${ctx.namespace} and the catalog (${CATALOG})` : "all namespaces";
  const search = h("input", {
    id: "template-search",
    type: "search",
    placeholder: "name, provider, description",
    value: ctx.query.get("q") || "",
  });
  const notes = h("div", {});
  const clusterBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const serviceBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.append(
    h("h1", {}, "Templates"),
    h("p", { class: "lead" }, `Blueprints of clusters and service bundles in ${scope}.`),
    h(
      "form",
      { class: "filters", role: "search", onSubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: "template-search" }, "Search"), search),
    ),
    notes,
    h("section", { "aria-labelledby": "ct-title" }, h("h2", { id: "ct-title" }, "Cluster templates"), clusterBox),
    h("section", { "aria-labelledby": "st-title" }, h("h2", { id: "st-title" }, "Service templates"), serviceBox),
  );

  let clusters = [];
  let services = [];
  function draw() {
    const text = search.value.trim();
    replaceChildren(
      clusterBox,
      table(
        [
          {
            label: "Name",
            value: (t) => h("a", { href: templateHref("clustertemplates", t.metadata.namespace, t.metadata.name) }, t.metadata.name),
          },
          { label: "Namespace", value: (t) => where(t, ctx.namespace) },
          { label: "Version", value: (t) => t.spec.version },
          { label: "Provider", value: (t) => t.spec.provider },
          { label: "Kubernetes", value: (t) => t.spec.kubernetesVersion, className: "nowrap" },
          { label: "Description", value: (t) => t.spec.description || "", className: "wrap" },
          { label: "Upgrades to", value: upgradeLinks },
        ],
        clusters.filter((t) => matches(t, text)),
        { empty: text ? "No cluster template matches." : "No cluster templates here.", caption: "Cluster templates" },
      ),
    );
    replaceChildren(
      serviceBox,
      table(
        [
          {
            label: "Name",
            value: (t) => h("a", { href: templateHref("servicetemplates", t.metadata.namespace, t.metadata.name) }, t.metadata.name),
          },
          { label: "Namespace", value: (t) => where(t, ctx.namespace) },
          { label: "Version", value: (t) => t.spec.version },
          { label: "Source", value: (t) => sourceOf(t.spec), className: "wrap" },
          { label: "Status", value: validity },
          { label: "Description", value: (t) => t.spec.description || "", className: "wrap" },
        ],
        services.filter((t) => matches(t, text)),
        { empty: text ? "No service template matches." : "No service templates here.", caption: "Service templates" },
      ),
    );
  }
  search.addEventListener("input", () => {
    ctx.setQuery(search.value ? { q: search.value } : {});
    draw();
  });

  try {
    const [ct, st] = await Promise.all([
      loadTemplates("clustertemplates", ctx.namespace),
      loadTemplates("servicetemplates", ctx.namespace),
    ]);
    clusters = ct.items;
    services = st.items;
    const said = [...new Set([...ct.notes, ...st.notes])];
    replaceChildren(notes, said.map((n) => h("p", { class: "notice" }, n)));
    draw();
  } catch (err) {
    replaceChildren(clusterBox, errorBox(err));
    replaceChildren(serviceBox);
  }
  return null;
}
