// Users and roles: Users (cluster-scoped), ClusterRoleBindings (global roles) and RoleBindings
// (namespace roles), live. Each part is shown to those who may read it and its actions to those
// who may use them: global-admins manage users, global bindings and every namespace's bindings;
// a namespace-admin manages the RoleBindings of their namespace. docs/security.md.
//
// Actions: add a user; disable or enable one (spec.disabled: their tokens stop working at
// once); issue a token for one (POST /auth/v1/tokens {"user"}), shown once in a dialog that is
// removed from the page when closed; create and delete bindings (role, subjects User/Group).

import { create, del, liveList, patch, request, resourcePath } from "../api.js";
import { badge, byNamespaceName, confirmDialog, copyText, errorBox, formErrors, h, modal, replaceChildren, table, toast } from "../ui.js";

const NAMESPACE_ROLES = ["namespace-admin", "namespace-editor", "namespace-viewer"];
const GLOBAL_ROLES = ["global-admin", "global-viewer"];
const SCOPES = [
  ["read", "read (get, list, watch)"],
  ["write", "write (create, update, patch, delete)"],
  ["proxy", "proxy (the clusters' Kubernetes APIs)"],
];

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

function field(label, input, help = null) {
  if (!input.id) input.id = nextId("f");
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, help ? h("p", { class: "help" }, help) : null);
}

function subjectsText(binding) {
  return h(
    "ul",
    { class: "chips" },
    (binding.spec.subjects || []).map((s) => h("li", {}, h("code", {}, `${s.kind === "Group" ? "group" : "user"}:${s.name}`))),
  );
}

function holds(binding, user) {
  const groups = new Set((user.spec && user.spec.groups) || []);
  return (binding.spec.subjects || []).some(
    (s) => (s.kind === "User" && s.name === user.metadata.name) || (s.kind === "Group" && groups.has(s.name)),
  );
}

/** A form in a dialog that creates a binding; `namespaces` given: a RoleBinding. */
function bindingDialog({ namespaces, namespace, userNames }) {
  const namespaced = Boolean(namespaces);
  const listId = nextId("known-users");
  const nsSelect = namespaced
    ? h("select", { name: "metadata.namespace" }, namespaces.map((ns) => h("option", { value: ns, selected: ns === namespace }, ns)))
    : null;
  const nameInput = h("input", { name: "metadata.name", autocomplete: "off", spellcheck: "false", required: true });
  const roleSelect = h(
    "select",
    { name: "spec.role" },
    (namespaced ? NAMESPACE_ROLES : GLOBAL_ROLES).map((role) => h("option", { value: role, selected: role.endsWith("viewer") }, role)),
  );
  const rows = h("div", { class: "rows", "data-field": "spec.subjects" });
  function addSubject() {
    const kind = h("select", {}, h("option", { value: "User" }, "User"), h("option", { value: "Group" }, "Group"));
    const name = h("input", { autocomplete: "off", spellcheck: "false", list: listId });
    const remove = h("button", { type: "button", class: "button small" }, "Remove");
    const row = h("div", { class: "row subject-row" }, h("div", { class: "field narrow" }, field("Subject kind", kind)), field("Subject name", name), remove);
    row.subject = () => ({ kind: kind.value, name: name.value.trim(), input: name });
    remove.addEventListener("click", () => row.remove());
    rows.append(row);
    return kind;
  }
  addSubject();
  const add = h("button", { type: "button", class: "button small" }, "Add subject");
  add.addEventListener("click", () => addSubject().focus());
  const submit = h("button", { type: "submit", class: "button primary" }, "Create binding");
  const cancel = h("button", { type: "button", class: "button" }, "Cancel");
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    namespaced ? field("Namespace", nsSelect) : null,
    field("Binding name", nameInput, "Lowercase letters, digits, '-' and '.'"),
    field("Role", roleSelect),
    h("fieldset", {}, h("legend", {}, "Subjects"), rows, h("p", {}, add)),
    h("datalist", { id: listId }, userNames.map((n) => h("option", { value: n }))),
    h("div", { class: "actions" }, cancel, submit),
  );
  const { close } = modal(namespaced ? "New role binding" : "New global role binding", form, { wide: true });
  cancel.addEventListener("click", close);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const subjects = [];
    [...rows.querySelectorAll(".subject-row")].forEach((row, i) => {
      const s = row.subject();
      s.input.dataset.field = `spec.subjects[${i}].name`;
      subjects.push({ kind: s.kind, name: s.name });
    });
    const kind = namespaced ? "RoleBinding" : "ClusterRoleBinding";
    const metadata = { name: nameInput.value.trim() };
    if (namespaced) metadata.namespace = nsSelect.value;
    const body = { apiVersion: "orbit.k8or.io/v1alpha1", kind, metadata, spec: { role: roleSelect.value, subjects } };
    const path = namespaced ? resourcePath("rolebindings", nsSelect.value) : resourcePath("clusterrolebindings");
    submit.disabled = true;
    try {
      await create(path, body);
      close();
      toast(`${kind} ${metadata.name} created.`, "success");
    } catch (err) {
      submit.disabled = false;
      formErrors(form, err.causes && err.causes.length ? err.causes : [{ field: "", message: err.message }]);
    }
  });
}

function userDialog() {
  const name = h("input", { name: "metadata.name", autocomplete: "off", spellcheck: "false", required: true });
  const display = h("input", { name: "spec.displayName", autocomplete: "off" });
  const email = h("input", { name: "spec.email", type: "email", autocomplete: "off" });
  const groups = h("input", { name: "spec.groups", autocomplete: "off", spellcheck: "false" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Add user");
  const cancel = h("button", { type: "button", class: "button" }, "Cancel");
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    field("User name", name, "Lowercase letters, digits, '-' and '.'"),
    field("Display name", display),
    field("Email", email),
    field("Groups", groups, "Comma-separated; bindings may name groups."),
    h("div", { class: "actions" }, cancel, submit),
  );
  const { close } = modal("Add a user", form, { wide: true });
  cancel.addEventListener("click", close);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      apiVersion: "orbit.k8or.io/v1alpha1",
      kind: "User",
      metadata: { name: name.value.trim() },
      spec: {
        displayName: display.value.trim(),
        email: email.value.trim(),
        groups: groups.value.split(",").map((g) => g.trim()).filter(Boolean),
      },
    };
    submit.disabled = true;
    try {
      await create(resourcePath("users"), body);
      close();
      toast(`User ${body.metadata.name} added. Bind a role and issue a token to let them in.`, "success");
    } catch (err) {
      submit.disabled = false;
      formErrors(form, err.causes && err.causes.length ? err.causes : [{ field: "", message: err.message }]);
    }
  });
}

/** Issue a token for `user`; the answer's token is shown once, then forgotten. */
function tokenDialog(user, ownScopes) {
  const boxes = SCOPES.filter(([scope]) => ownScopes.includes(scope)).map(([scope, label]) => {
    const input = h("input", { type: "checkbox", id: nextId("scope"), value: scope, checked: scope !== "proxy" });
    return h("label", { class: "check", for: input.id }, input, label);
  });
  const ttl = h("input", { type: "number", min: "1", step: "1", placeholder: "the server's default", inputmode: "numeric" });
  const description = h("input", { name: "description", maxlength: "256", value: "issued from OpsBoard" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Issue token");
  const cancel = h("button", { type: "button", class: "button" }, "Cancel");
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    h("fieldset", { "data-field": "scopes" }, h("legend", {}, "Scopes"), h("div", { class: "rows" }, boxes)),
    field("Lifetime in hours", ttl),
    field("Description", description),
    h("div", { class: "actions" }, cancel, submit),
  );
  const holder = h("div", {}, form);
  const { close } = modal(`Issue a token for ${user}`, holder, { wide: true });
  cancel.addEventListener("click", close);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const scopes = [...form.querySelectorAll("input[type=checkbox]:checked")].map((b) => b.value);
    const body = { user, scopes, description: description.value };
    if (ttl.value) body.ttlHours = Number(ttl.value);
    submit.disabled = true;
    let answer;
    try {
      answer = await request("POST", "/auth/v1/tokens", { body });
    } catch (err) {
      submit.disabled = false;
      formErrors(form, err.causes && err.causes.length ? err.causes : [{ field: "", message: err.message }]);
      return;
    }
    const tokenId = nextId("new-token");
    const shown = h("input", { id: tokenId, class: "new-token", readonly: true, value: answer.token, spellcheck: "false", autocomplete: "off" });
    const copy = h("button", { type: "button", class: "button" }, "Copy");
    const done = h("button", { type: "button", class: "button primary" }, "Done");
    copy.addEventListener("click", async () => {
      shown.select();
      const ok = await copyText(shown.value);
      toast(ok ? "Token copied." : "Copy failed: select the token and copy it yourself.", ok ? "success" : "error");
    });
    done.addEventListener("click", close);
    replaceChildren(
      holder,
      h(
        "div",
        { class: "notice warn", role: "alert" },
        h("strong", {}, "Shown once: "),
        "copy this token now. Orbit keeps only a hash of it; closing this dialog forgets it for good.",
      ),
      h("div", { class: "stack" }, h("label", { for: tokenId }, `Token for ${user}`), h("div", { class: "token-box" }, shown, copy)),
      h("p", { class: "help" }, `Token id ${answer.id}; scopes ${(answer.scopes || scopes).join(", ")}; expires ${answer.expiresAt || "never"}.`),
      h("div", { class: "actions" }, done),
    );
    shown.focus();
    shown.select();
  });
}

export async function render(main, params, ctx) {
  main.append(h("h1", {}, "Users and roles"));
  const me = (ctx.user && ctx.user.user) || "";
  const ownScopes = (ctx.user && ctx.user.scopes) || [];
  const ns = ctx.namespace;
  const [canListUsers, canCreateUsers, canPatchUsers, canListCrb, canCreateCrb, canDeleteCrb, canTokens, canListRb] =
    await Promise.all([
      ctx.can("list", "users"),
      ctx.can("create", "users"),
      ctx.can("patch", "users"),
      ctx.can("list", "clusterrolebindings"),
      ctx.can("create", "clusterrolebindings"),
      ctx.can("delete", "clusterrolebindings"),
      ctx.can("create", "tokens"),
      ns ? ctx.can("list", "rolebindings", ns) : ctx.can("list", "*/rolebindings"),
    ]);
  const candidates = ns ? [ns] : ctx.namespaces;
  const [creatable, deletable] = await Promise.all([
    Promise.all(candidates.map((n) => ctx.can("create", "rolebindings", n))),
    Promise.all(candidates.map((n) => ctx.can("delete", "rolebindings", n))),
  ]);
  const rbCreate = candidates.filter((n, i) => creatable[i]);
  const rbDelete = new Set(candidates.filter((n, i) => deletable[i]));
  if (!canListUsers && !canListCrb && !(canListRb && rbCreate.length)) {
    main.append(
      errorBox({
        code: 403,
        message: ns
          ? `Managing users and role bindings needs namespace-admin in ${ns} or a global role.`
          : "Managing users and role bindings needs a global role; pick a namespace you administer.",
      }),
    );
    return null;
  }
  main.append(
    h(
      "p",
      { class: "lead" },
      "Roles are bound to users and groups: global roles by ClusterRoleBindings, namespace roles by RoleBindings in that namespace.",
    ),
  );

  let users = new Map();
  let crbs = new Map();
  let rbs = new Map();
  const userBox = h("div", {});
  const crbBox = h("div", {});
  const rbBox = h("div", {});
  const userNames = () => [...users.values()].map((u) => u.metadata.name).sort();

  function roleList(user) {
    const out = [];
    for (const b of crbs.values()) if (holds(b, user)) out.push(b.spec.role);
    for (const b of rbs.values()) if (holds(b, user)) out.push(`${b.spec.role} in ${b.metadata.namespace}`);
    return out.length ? h("ul", { class: "chips" }, [...new Set(out)].sort().map((r) => h("li", {}, r))) : h("span", { class: "muted" }, "none");
  }

  function userActions(u) {
    const name = u.metadata.name;
    const disabled = Boolean(u.spec && u.spec.disabled);
    const out = [];
    if (canPatchUsers && name !== me) {
      const toggle = h("button", { type: "button", class: "button small" }, disabled ? `Enable ${name}` : `Disable ${name}`);
      toggle.addEventListener("click", async () => {
        if (!disabled) {
          const yes = await confirmDialog(
            `Disable ${name}? Their tokens stop working at once and they cannot sign in until enabled again.`,
            { title: `Disable ${name}?`, confirmLabel: "Disable", danger: true },
          );
          if (!yes) return;
        }
        toggle.disabled = true;
        try {
          await patch(resourcePath("users", null, name), { spec: { disabled: !disabled } });
          toast(`${name} ${disabled ? "enabled" : "disabled"}.`, "success");
        } catch (err) {
          toggle.disabled = false;
          toast(err.message, "error");
        }
      });
      out.push(toggle);
    }
    if (!disabled && (canTokens || name === me) && ownScopes.includes("write")) {
      const issue = h("button", { type: "button", class: "button small" }, `Issue token for ${name}`);
      issue.addEventListener("click", () => tokenDialog(name, ownScopes));
      out.push(issue);
    }
    return h("div", { class: "cell-actions" }, out);
  }

  function drawUsers() {
    const items = [...users.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    replaceChildren(
      userBox,
      table(
        [
          { label: "User", value: (u) => [u.metadata.name, u.metadata.name === me ? h("span", { class: "muted" }, " (you)") : null] },
          { label: "Display name", value: (u) => (u.spec && u.spec.displayName) || "" },
          { label: "Email", value: (u) => (u.spec && u.spec.email) || "", className: "wrap" },
          { label: "Groups", value: (u) => ((u.spec && u.spec.groups) || []).join(", ") },
          { label: "Roles", value: roleList },
          { label: "State", value: (u) => (u.spec && u.spec.disabled ? badge("Disabled", "bad") : badge("Active", "ok")) },
          { label: "Actions", value: userActions },
        ],
        items,
        { empty: "No users.", caption: "Users" },
      ),
    );
  }

  function deleteButton(binding, path, kind) {
    const name = binding.metadata.name;
    const where = binding.metadata.namespace ? ` in ${binding.metadata.namespace}` : "";
    const mine = (binding.spec.subjects || []).some((s) => s.kind === "User" && s.name === me);
    const button = h("button", { type: "button", class: "button small", "aria-label": `Delete ${kind} ${name}${where}` }, "Delete");
    button.addEventListener("click", async () => {
      const yes = await confirmDialog(
        `Delete ${kind} ${name}${where}? Its subjects lose the ${binding.spec.role} role at once${mine ? " — including you" : ""}.`,
        { title: `Delete ${name}?`, confirmLabel: "Delete", danger: true },
      );
      if (!yes) return;
      try {
        await del(path);
        toast(`${kind} ${name} deleted.`, "success");
      } catch (err) {
        toast(err.message, "error");
      }
    });
    return button;
  }

  function drawCrbs() {
    const items = [...crbs.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    replaceChildren(
      crbBox,
      table(
        [
          { label: "Binding", value: (b) => b.metadata.name },
          { label: "Role", value: (b) => b.spec.role },
          { label: "Subjects", value: subjectsText },
          canDeleteCrb
            ? { label: "Actions", value: (b) => deleteButton(b, resourcePath("clusterrolebindings", null, b.metadata.name), "ClusterRoleBinding") }
            : null,
        ].filter(Boolean),
        items,
        { empty: "No global role bindings.", caption: "ClusterRoleBindings (global roles)" },
      ),
    );
  }

  function drawRbs() {
    const items = [...rbs.values()].sort(byNamespaceName);
    replaceChildren(
      rbBox,
      table(
        [
          { label: "Binding", value: (b) => b.metadata.name },
          { label: "Namespace", value: (b) => b.metadata.namespace },
          { label: "Role", value: (b) => b.spec.role },
          { label: "Subjects", value: subjectsText },
          rbDelete.size
            ? {
                label: "Actions",
                value: (b) =>
                  rbDelete.has(b.metadata.namespace)
                    ? deleteButton(b, resourcePath("rolebindings", b.metadata.namespace, b.metadata.name), "RoleBinding")
                    : "",
              }
            : null,
        ].filter(Boolean),
        items,
        { empty: ns ? `No role bindings in ${ns}.` : "No role bindings.", caption: "RoleBindings (namespace roles)" },
      ),
    );
  }

  function section(id, title, actionButton, box) {
    return h(
      "section",
      { "aria-labelledby": id },
      h("div", { class: "page-head" }, h("h2", { id }, title), actionButton ? h("div", { class: "actions" }, actionButton) : null),
      box,
    );
  }

  const stops = [];
  const redrawAll = () => {
    if (canListUsers) drawUsers();
  };
  try {
    if (canListUsers) {
      const add = canCreateUsers ? h("button", { type: "button", class: "button" }, "Add user") : null;
      if (add) add.addEventListener("click", () => userDialog());
      main.append(section("users-title", "Users", add, userBox));
      stops.push(await liveList(resourcePath("users"), (objects) => {
        users = objects;
        drawUsers();
      }));
    }
    if (canListCrb) {
      const add = canCreateCrb ? h("button", { type: "button", class: "button" }, "New global binding") : null;
      if (add) add.addEventListener("click", () => bindingDialog({ userNames: userNames() }));
      main.append(section("crb-title", "Global role bindings", add, crbBox));
      stops.push(await liveList(resourcePath("clusterrolebindings"), (objects) => {
        crbs = objects;
        drawCrbs();
        redrawAll();
      }));
    }
    if (canListRb) {
      const add = rbCreate.length ? h("button", { type: "button", class: "button" }, "New role binding") : null;
      if (add) add.addEventListener("click", () => bindingDialog({ namespaces: rbCreate, namespace: ns || rbCreate[0], userNames: userNames() }));
      main.append(section("rb-title", ns ? `Role bindings in ${ns}` : "Role bindings", add, rbBox));
      stops.push(await liveList(resourcePath("rolebindings", ns), (objects) => {
        rbs = objects;
        drawRbs();
        redrawAll();
      }));
    }
  } catch (err) {
    main.append(errorBox(err));
  }
  return () => {
    for (const stop of stops) stop();
  };
}
