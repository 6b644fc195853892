// One template: its facts, the parameters its JSON Schema declares (name, type, default,
// bounds, description), and for a ClusterTemplate the upgrade paths both ways, the cluster
// shape and the base services; for a ServiceTemplate its source and whether it is valid.

import { get, list, resourcePath } from "../api.js";
import { badge, errorBox, facts, h, jsonBlock, replaceChildren, table, timeAgo } from "../ui.js";
import { CATALOG_NAMESPACE as CATALOG } from "../fleet.js";
import { sourceOf, templateHref, validity } from "./templates.js";

const KINDS = {
  clustertemplates: "ClusterTemplate",
  servicetemplates: "ServiceTemplate",
};

/** The parameters of a JSON Schema as rows {name, schema, required}; nested objects' fields
 * follow their parent as "parent.child". */
export function parameterRows(schema, prefix = "") {
  const rows = [];
  const props = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  for (const [name, sub] of Object.entries(props)) {
    const full = prefix ? `${prefix}.${name}` : name;
    rows.push({ name: full, schema: sub || {}, required: required.has(name) });
    if (sub && sub.properties) rows.push(...parameterRows(sub, full));
  }
  return rows;
}

/** "integer", "string", "array of string", "string | null", "one of 3 schemas". */
export function typeOf(s) {
  if (Array.isArray(s.type)) return s.type.join(" | ");
  if (s.type === "array") {
    const items = s.items || {};
    return items.type ? `array of ${Array.isArray(items.type) ? items.type.join(" | ") : items.type}` : "array";
  }
  if (s.type) return s.type;
  if (s.enum) return "enum";
  if (s.const !== undefined) return "constant";
  const alternatives = s.oneOf || s.anyOf;
  if (alternatives) return alternatives.map((a) => typeOf(a)).join(" | ");
  return "any";
}

function show(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The bounds of a schema in words: "0 to 20", "≥ 1", "one of: small, medium", "length ≤ 63". */
export function boundsOf(s) {
  const out = [];
  if (s.minimum !== undefined && s.maximum !== undefined) out.push(`${s.minimum} to ${s.maximum}`);
  else if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  else if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.exclusiveMaximum !== undefined) out.push(`< ${s.exclusiveMaximum}`);
  if (s.multipleOf !== undefined) out.push(`multiple of ${s.multipleOf}`);
  if (s.minLength !== undefined && s.maxLength !== undefined) out.push(`length ${s.minLength} to ${s.maxLength}`);
  else if (s.minLength !== undefined) out.push(`length ≥ ${s.minLength}`);
  else if (s.maxLength !== undefined) out.push(`length ≤ ${s.maxLength}`);
  if (s.minItems !== undefined) out.push(`≥ ${s.minItems} items`);
  if (s.maxItems !== undefined) out.push(`≤ ${s.maxItems} items`);
  if (s.pattern) out.push(`matches ${s.pattern}`);
  if (s.format) out.push(`format ${s.format}`);
  if (s.enum) out.push(`one of: ${s.enum.map(show).join(", ")}`);
  if (s.const !== undefined) out.push(`exactly ${show(s.const)}`);
  return out.join("; ");
}

export function parametersTable(schema) {
  const rows = parameterRows(schema);
  const closed = schema && schema.additionalProperties === false;
  return [
    table(
      [
        { label: "Parameter", value: (r) => h("code", {}, r.name), className: "nowrap" },
        { label: "Type", value: (r) => typeOf(r.schema) },
        {
          label: "Default",
          value: (r) => (r.schema.default === undefined ? h("span", { class: "muted" }, r.required ? "required" : "—") : h("code", {}, show(r.schema.default))),
        },
        { label: "Bounds", value: (r) => boundsOf(r.schema), className: "wrap" },
        { label: "Description", value: (r) => r.schema.description || r.schema.title || "", className: "wrap" },
      ],
      rows,
      { empty: "This template takes no parameters.", caption: "Parameters (from the template's JSON Schema)" },
    ),
    closed && rows.length ? h("p", { class: "help" }, "No other parameters are accepted.") : null,
  ];
}

function links(namespace, names) {
  if (!names.length) return h("span", { class: "muted" }, "none");
  return h(
    "ul",
    { class: "chips" },
    names.map((name) => h("li", {}, h("a", { href: templateHref("clustertemplates", namespace, name) }, name))),
  );
}

function servicesTable(services, caption) {
  return table(
    [
      { label: "Service", value: (s) => s.name },
      { label: "Template", value: (s) => s.template },
      { label: "Namespace", value: (s) => s.namespace || "default" },
      { label: "Values", value: (s) => (s.values && Object.keys(s.values).length ? h("code", {}, JSON.stringify(s.values)) : ""), className: "wrap" },
    ],
    services,
    { empty: "None.", caption },
  );
}

async function clusterTemplate(main, t) {
  const ns = t.metadata.namespace;
  const s = t.spec;
  const from = h("span", { class: "muted" }, "…");
  main.append(h(
    "div",
    {},
    facts([
      ["Kind", "ClusterTemplate"],
      ["Namespace", ns === CATALOG ? [ns, " ", badge("catalog", "neutral")] : ns],
      ["Version", s.version],
      ["Provider", s.provider],
      ["Kubernetes", s.kubernetesVersion],
      ["Description", s.description],
      ["Created", timeAgo(t.metadata.creationTimestamp)],
    ]),
    h("h2", { id: "params-title" }, "Parameters"),
    parametersTable(s.parameters),
    h("h2", {}, "Upgrade paths"),
    facts([
      ["Upgrades to", links(ns, s.upgradeTo || [])],
      ["Upgrades from", from],
    ], { "aria-label": "Upgrade paths" }),
    h("h2", {}, "Base services"),
    servicesTable(s.services || [], "Services every cluster of this template gets"),
    h("h2", {}, "Cluster shape"),
    h("p", { class: "help" }, "Rendered with the parameters ({{ name }}) into what the provider builds."),
    jsonBlock(s.cluster, { label: "Cluster shape" }),
  ));
  try {
    const all = (await list(resourcePath("clustertemplates", ns))).items;
    const sources = all
      .filter((o) => (o.spec.upgradeTo || []).includes(t.metadata.name))
      .map((o) => o.metadata.name);
    replaceChildren(from, links(ns, sources));
  } catch {
    replaceChildren(from, "unknown");
  }
}

function serviceTemplate(main, t) {
  const s = t.spec;
  const status = t.status || {};
  const ns = t.metadata.namespace;
  main.append(h(
    "div",
    {},
    facts([
      ["Kind", "ServiceTemplate"],
      ["Namespace", ns === CATALOG ? [ns, " ", badge("catalog", "neutral")] : ns],
      ["Version", s.version],
      ["Description", s.description],
      ["Source", sourceOf(s)],
      ["Status", [validity(t), status.message ? ` ${status.message}` : ""]],
      ["Created", timeAgo(t.metadata.creationTimestamp)],
    ]),
    h("h2", {}, "Parameters"),
    parametersTable(s.parameters),
    h("h2", {}, "Source"),
    s.resources !== null && s.resources !== undefined
      ? h("pre", { class: "code", tabindex: "0", "aria-label": "Manifests" }, s.resources)
      : jsonBlock(s.git || s.helm, { label: "Source" }),
    (status.conditions || []).length
      ? [
          h("h2", {}, "Conditions"),
          table(
            [
              { label: "Type", value: (c) => c.type },
              { label: "Status", value: (c) => badge(c.status, c.status === "True" ? "ok" : "bad") },
              { label: "Reason", value: (c) => c.reason || "" },
              { label: "Message", value: (c) => c.message || "", className: "wrap" },
            ],
            status.conditions,
          ),
        ]
      : null,
  ));
}

export async function render(main, params, ctx) {
  const kind = KINDS[params.kind];
  main.append(h("p", { class: "crumbs" }, h("a", { href: "/ui/templates" }, "Templates")));
  if (!kind) {
    main.append(h("h1", {}, "No such kind of template"), h("p", {}, `"${params.kind}" is not a kind of template.`));
    return null;
  }
  main.append(h("h1", {}, params.name));
  ctx.setTitle(`${params.name} · ${kind}`);
  let t;
  try {
    t = await get(resourcePath(params.kind, params.namespace, params.name));
  } catch (err) {
    main.append(errorBox(err));
    return null;
  }
  if (params.kind === "clustertemplates") await clusterTemplate(main, t);
  else serviceTemplate(main, t);
  return null;
}
