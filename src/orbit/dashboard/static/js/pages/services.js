// Services: the MultiClusterServices of the namespace, live, with their summary
// ("18/20 deployed; 2 failed: Unschedulable (2)") and where each rollout stands.
//
// Also the vocabulary the MultiClusterService page shares: the tones of service and rollout
// states, and the waves of a rollout as the controller plans them
// (src/orbit/controllers/multiclusterservice/).

import { liveList, resourcePath, selectorQuery } from "../api.js";
import { badge, byNamespaceName, errorBox, h, replaceChildren, table, timeAgo } from "../ui.js";

const SERVICE_TONES = {
  Deployed: "ok",
  Deploying: "progress",
  Pending: "neutral",
  Failed: "bad",
  Drifted: "warn",
  Deleting: "muted",
};
const ROLLOUT_TONES = {
  Complete: "ok",
  Progressing: "progress",
  Paused: "bad",
  RolledBack: "bad",
  Pending: "neutral",
};

export function serviceBadge(state) {
  return badge(state || "Pending", SERVICE_TONES[state] || "neutral");
}

/** Where a rollout stands: "Held" while spec.paused holds a rollout in progress, else
 * status.rollout.state (Pending, Progressing, Paused after a failure, RolledBack, Complete). */
export function rolloutState(mcs) {
  const rollout = (mcs.status && mcs.status.rollout) || {};
  const state = rollout.state || "Pending";
  if (mcs.spec.paused && state === "Progressing") return "Held";
  return state;
}

export function rolloutBadge(mcs) {
  const state = rolloutState(mcs);
  return badge(state, state === "Held" ? "warn" : ROLLOUT_TONES[state] || "neutral");
}

export function serviceHref(namespace, name) {
  return `/ui/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** The waves of `mcs` in order: [{name, state, clusters: [status entry], updated}], where
 * `state` is one of "done", "in-progress", "held" (spec.paused holds it), "failed" (the
 * rollout stopped here), "rolled-back", "waiting". Wave names come from the strategy; the
 * controller's implicit last wave ("remaining", or "all" without waves) is added when
 * clusters are in it. `updated` counts the clusters Deployed on the current revision. */
export function wavesOf(mcs) {
  const status = mcs.status || {};
  const rollout = status.rollout || {};
  const entries = status.clusters || [];
  const declared = ((mcs.spec.rollout || {}).waves || []).map((w) => w.name);
  const names = [...declared];
  const implicit = declared.length ? "remaining" : "all";
  if (!declared.length || entries.some((c) => c.wave === implicit)) names.push(implicit);
  const current = names.indexOf(rollout.wave);
  return names.map((name, i) => {
    const clusters = entries.filter((c) => c.wave === name);
    const updated = clusters.filter((c) => c.revision === rollout.revision && c.state === "Deployed").length;
    let state = "waiting";
    if (rollout.state === "Complete") state = "done";
    else if (rollout.state === "RolledBack" && rollout.failedWave === name) state = "rolled-back";
    else if (rollout.state === "Paused" && rollout.failedWave === name) state = "failed";
    else if (current >= 0 && i < current) state = "done";
    else if (current >= 0 && i === current && rollout.state === "Progressing") {
      state = mcs.spec.paused ? "held" : "in-progress";
    }
    return { name, state, clusters, updated };
  });
}

export const WAVE_LABELS = {
  done: ["Done", "ok"],
  "in-progress": ["In progress", "progress"],
  held: ["Held", "warn"],
  failed: ["Failed", "bad"],
  "rolled-back": ["Rolled back", "bad"],
  waiting: ["Waiting", "neutral"],
};

function rolloutCell(mcs) {
  const rollout = (mcs.status && mcs.status.rollout) || {};
  return [rolloutBadge(mcs), rollout.wave ? h("span", { class: "muted" }, ` wave ${rollout.wave}`) : null];
}

export async function render(main, params, ctx) {
  const scope = ctx.namespace ? `in ${ctx.namespace}` : "in all namespaces";
  const box = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.append(
    h("h1", {}, "Services"),
    h(
      "p",
      { class: "lead" },
      `MultiClusterServices ${scope}: services delivered to every cluster matching a selector, rolled out in waves.`,
    ),
    box,
  );

  function draw(objects) {
    const items = [...objects.values()].sort(byNamespaceName);
    replaceChildren(
      box,
      table(
        [
          {
            label: "Name",
            value: (m) => h("a", { href: serviceHref(m.metadata.namespace, m.metadata.name) }, m.metadata.name),
          },
          ctx.namespace ? null : { label: "Namespace", value: (m) => m.metadata.namespace },
          { label: "Clusters", value: (m) => h("code", {}, selectorQuery(m.spec.clusterSelector) || "every cluster"), className: "wrap" },
          { label: "Summary", value: (m) => (m.status && m.status.summary) || h("span", { class: "muted" }, "no matching clusters"), className: "wrap" },
          { label: "Rollout", value: rolloutCell },
          { label: "Revision", value: (m) => String(((m.status || {}).rollout || {}).revision || 0) },
          { label: "Age", value: (m) => timeAgo(m.metadata.creationTimestamp), className: "nowrap" },
        ].filter(Boolean),
        items,
        {
          empty: `No MultiClusterServices ${scope}. Create one with orbit apply -f (docs/services.md).`,
          caption: "MultiClusterServices",
        },
      ),
    );
  }

  try {
    return await liveList(resourcePath("multiclusterservices", ctx.namespace), draw);
  } catch (err) {
    replaceChildren(box, errorBox(err));
    return null;
  }
}
