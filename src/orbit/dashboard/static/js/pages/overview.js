// Overview: the fleet at a glance, live from the watch API. Clusters by phase and by provider
// (each count links to the filtered cluster list), clusters expiring soon, failing services
// grouped by reason, rollouts in progress with their wave, recent events, and every cluster,
// most urgent first. Each part follows its own watch, so it changes as the fleet changes.

import { liveList, resourcePath } from "../api.js";
import { PHASE_ORDER, byUrgency, clusterHref, expiryOf, fullTime, loadTemplates, nodesText, phaseOf, phaseRank, providerOf, templateOf } from "../fleet.js";
import { badge, byNamespaceName, errorBox, h, replaceChildren, table, timeAgo } from "../ui.js";

export { PHASE_ORDER };

/** Clusters whose TTL ends within this long are "expiring soon". */
export const EXPIRING_WINDOW_MS = 24 * 3600 * 1000;
const RECENT_EVENTS = 8;
const FAILING = new Set(["Failed", "Drifted"]);
const IN_PROGRESS = new Set(["Progressing", "Paused"]);

function countBy(items, keyOf) {
  const counts = new Map();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) || 0) + 1);
  return counts;
}

function clusterLink(namespace, name) {
  return h("a", { href: clusterHref(namespace, name) }, name);
}

function eventTime(ev) {
  return ev.lastTimestamp || ev.firstTimestamp || ev.metadata.creationTimestamp || "";
}

function eventMillis(ev) {
  return Date.parse(eventTime(ev)) || 0;
}

function section(id, title, ...content) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...content);
}

export async function render(main, params, ctx) {
  const ns = ctx.namespace;
  const where = ns ? `in ${ns}` : "in all namespaces";
  const phases = h("ul", { class: "stats", "aria-label": "Clusters by phase" });
  const providers = h("ul", { class: "stats", "aria-label": "Clusters by provider" });
  const expiring = h("div", {});
  const failing = h("div", {});
  const rollouts = h("div", {});
  const events = h("div", {});
  const list = h("div", {});
  main.append(
    h("h1", {}, "Overview"),
    h(
      "section",
      { "aria-labelledby": "clusters-title" },
      h("h2", { id: "clusters-title" }, `Clusters ${where}`),
      h(
        "div",
        { class: "stat-rows" },
        h("div", { class: "stat-row" }, h("h3", {}, "By phase"), phases),
        h("div", { class: "stat-row" }, h("h3", {}, "By provider"), providers),
      ),
    ),
    h(
      "div",
      { class: "overview-grid" },
      section("expiring-title", "Expiring soon", expiring),
      section("failing-title", "Failing services", failing),
      section("rollouts-title", "Rollouts in progress", rollouts),
      section("events-title", "Recent events", events),
    ),
    h("section", { "aria-labelledby": "all-title" }, h("h2", { id: "all-title" }, "All clusters"), list),
  );

  let clusters = null; // null until the first list is in (or when it failed)
  let templates = new Map();
  let templatesLoaded = false;
  const asked = new Set(); // templates looked up again once, when a cluster names a new one

  async function refreshTemplates() {
    try {
      templates = await loadTemplates(ns);
    } catch {
      // providers show as "unknown"; the rest of the overview does not depend on them
    }
    drawClusters();
  }

  function drawClusters() {
    if (!clusters) return;
    const missing = clusters.filter((c) => !providerOf(c, templates)).map(templateOf);
    if (templatesLoaded && missing.some((name) => !asked.has(name))) {
      missing.forEach((name) => asked.add(name));
      refreshTemplates();
    }
    const sorted = [...clusters].sort(byUrgency);
    const byPhase = [...countBy(sorted, phaseOf)].sort((a, b) => phaseRank(a[0]) - phaseRank(b[0]));
    replaceChildren(
      phases,
      h("li", { class: "stat" }, h("a", { href: "/ui/clusters" }, h("span", { class: "stat-value" }, sorted.length), " total")),
      byPhase.map(([phase, n]) =>
        h(
          "li",
          { class: "stat", dataset: { phase } },
          h(
            "a",
            { href: `/ui/clusters?phase=${encodeURIComponent(phase)}`, "aria-label": `${n} ${phase}` },
            h("span", { class: "stat-value" }, n),
            " ",
            badge(phase),
          ),
        ),
      ),
    );
    const byProvider = [...countBy(sorted, (c) => providerOf(c, templates) || "unknown")].sort(
      (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
    );
    replaceChildren(
      providers,
      byProvider.map(([provider, n]) =>
        h(
          "li",
          { class: "stat", dataset: { provider } },
          h(
            "a",
            { href: `/ui/clusters?provider=${encodeURIComponent(provider)}`, "aria-label": `${n} on ${provider}` },
            h("span", { class: "stat-value" }, n),
            " ",
            h("span", { class: "provider" }, provider),
          ),
        ),
      ),
    );

    const now = Date.now();
    const soon = sorted
      .map((c) => ({ c, at: expiryOf(c) }))
      .filter(({ c, at }) => at && at.getTime() - now < EXPIRING_WINDOW_MS && phaseOf(c) !== "Deleting")
      .sort((a, b) => a.at - b.at);
    replaceChildren(
      expiring,
      table(
        [
          { label: "Cluster", value: ({ c }) => clusterLink(c.metadata.namespace, c.metadata.name) },
          { label: "Namespace", value: ({ c }) => c.metadata.namespace },
          {
            label: "Expires",
            value: ({ at }) => h("time", { datetime: at.toISOString(), title: fullTime(at) }, timeAgo(at, now)),
          },
          { label: "Lifetime", value: ({ c }) => (c.spec.ttl ? `ttl ${c.spec.ttl}` : "expiresAt") },
        ],
        soon,
        { empty: "No cluster expires in the next 24 hours." },
      ),
    );

    replaceChildren(
      list,
      table(
        [
          { label: "Cluster", value: (c) => h("a", { href: clusterHref(c.metadata.namespace, c.metadata.name) }, `${c.metadata.namespace}/${c.metadata.name}`) },
          { label: "Phase", value: (c) => badge(phaseOf(c)) },
          { label: "Template", value: (c) => templateOf(c) },
          { label: "Provider", value: (c) => providerOf(c, templates) },
          { label: "Nodes", value: nodesText },
          { label: "Kubernetes", value: (c) => (c.status && c.status.kubernetesVersion) || "" },
          { label: "Age", value: (c) => timeAgo(c.metadata.creationTimestamp) },
        ],
        sorted,
        { empty: `No clusters ${where} yet.`, caption: "Clusters, most urgent first" },
      ),
    );
  }

  function drawFailing(objects) {
    const groups = new Map(); // reason -> [{set, service}]
    for (const set of objects.values()) {
      for (const service of (set.status && set.status.services) || []) {
        if (!FAILING.has(service.state)) continue;
        const reason = service.reason || service.state;
        if (!groups.has(reason)) groups.set(reason, []);
        groups.get(reason).push({ set, service });
      }
    }
    if (!groups.size) {
      replaceChildren(failing, h("p", { class: "empty" }, "Every delivered service is healthy."));
      return;
    }
    const sorted = [...groups].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
    replaceChildren(
      failing,
      h(
        "ul",
        { class: "groups" },
        sorted.map(([reason, items]) =>
          h(
            "li",
            { class: "group", dataset: { reason } },
            h("h3", {}, badge(reason, "bad"), " ", h("span", { class: "count" }, `${items.length} failing`)),
            h(
              "ul",
              {},
              items
                .sort((a, b) => a.set.spec.cluster.localeCompare(b.set.spec.cluster))
                .map(({ set, service }) =>
                  h(
                    "li",
                    {},
                    clusterLink(set.metadata.namespace, set.spec.cluster),
                    ns ? null : h("span", { class: "muted" }, ` (${set.metadata.namespace})`),
                    " · ",
                    h("strong", {}, service.name),
                    ` (${service.state})`,
                    service.message ? h("span", { class: "muted" }, `: ${service.message}`) : null,
                  ),
                ),
            ),
          ),
        ),
      ),
    );
  }

  function drawRollouts(objects) {
    const active = [...objects.values()]
      .filter((m) => m.status && m.status.rollout && IN_PROGRESS.has(m.status.rollout.state))
      .sort(byNamespaceName);
    if (!active.length) {
      replaceChildren(rollouts, h("p", { class: "empty" }, "No rollout is in progress."));
      return;
    }
    replaceChildren(
      rollouts,
      h(
        "ul",
        { class: "groups rollouts" },
        active.map((m) => {
          const rollout = m.status.rollout;
          const wave = rollout.wave || rollout.failedWave || "";
          const waves = ((m.spec.rollout && m.spec.rollout.waves) || []).map((w) => w.name);
          const at = waves.indexOf(wave);
          const members = m.status.clusters || [];
          const done = members.filter((c) => c.revision === rollout.revision && c.state === "Deployed").length;
          const href = `/ui/services/${encodeURIComponent(m.metadata.namespace)}/${encodeURIComponent(m.metadata.name)}`;
          return h(
            "li",
            { class: "group", dataset: { name: m.metadata.name } },
            h(
              "h3",
              {},
              h("a", { href }, m.metadata.name),
              ns ? null : h("span", { class: "count" }, `(${m.metadata.namespace})`),
              badge(rollout.state),
            ),
            h(
              "p",
              { class: "wave-line" },
              at >= 0 ? `Wave ${wave} (${at + 1} of ${waves.length})` : wave ? `Wave ${wave}` : "All clusters at once",
              ` · ${done}/${members.length} cluster${members.length === 1 ? "" : "s"} on revision ${rollout.revision}`,
            ),
            rollout.message ? h("p", { class: "muted" }, rollout.message) : null,
          );
        }),
      ),
    );
  }

  function drawEvents(objects) {
    const recent = [...objects.values()]
      .sort((a, b) => eventMillis(b) - eventMillis(a))
      .slice(0, RECENT_EVENTS);
    replaceChildren(
      events,
      recent.length
        ? h(
            "ol",
            { class: "timeline", "aria-label": "Events, newest first" },
            recent.map((ev) => {
              const ref = ev.involvedObject;
              const object =
                ref.kind === "ClusterDeployment"
                  ? clusterLink(ref.namespace || ev.metadata.namespace, ref.name)
                  : ref.name;
              return h(
                "li",
                { class: ev.type === "Warning" ? "warning" : "normal" },
                h(
                  "div",
                  { class: "timeline-head" },
                  h("time", { datetime: eventTime(ev), title: fullTime(eventTime(ev)) }, timeAgo(eventTime(ev))),
                  badge(ev.reason, ev.type === "Warning" ? "warn" : "neutral"),
                  h("span", {}, `${ref.kind} `, object, ns ? "" : ` (${ev.metadata.namespace})`),
                ),
                h("p", {}, ev.count > 1 ? `${ev.message} (×${ev.count})` : ev.message),
              );
            }),
          )
        : h("p", { class: "empty" }, "No events yet."),
    );
  }

  const stops = [];
  const follow = async (plural, target, draw) => {
    try {
      stops.push(await liveList(resourcePath(plural, ns), draw));
    } catch (err) {
      replaceChildren(target, errorBox(err));
    }
  };
  await Promise.all([
    loadTemplates(ns).then(
      (found) => {
        templates = found;
      },
      () => {},
    ).finally(() => {
      templatesLoaded = true;
    }),
    follow("clusterdeployments", list, (objects) => {
      clusters = [...objects.values()];
      drawClusters();
    }),
    follow("servicesets", failing, drawFailing),
    follow("multiclusterservices", rollouts, drawRollouts),
    follow("events", events, drawEvents),
  ]);
  drawClusters();
  return () => stops.forEach((stop) => stop());
}


