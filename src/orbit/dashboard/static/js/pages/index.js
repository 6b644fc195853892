// The dashboard's pages, one line each. Add yours here; keep this order for the nav:
// Overview, Clusters, Templates, Services, Credentials, Audit, Users & roles.
//
//   path     the URL pattern, ":param" segments become render()'s params
//   load     () => import("./x.js"); the module exports
//            async function render(main, params, ctx) -> cleanup function (or nothing)
//   title    document title: a string or (params) => string
//   nav      the label of its link in the main nav (top-level pages only)
//   visible  optional async (ctx) => boolean: show the nav link only when true
//            (e.g. ({ can }) => can("list", "audit"))
//   public   true for pages shown without signing in (the login page)

// Users & roles: global roles read users; a namespace-admin manages their namespace's bindings.
async function mayManageAccess({ can, namespaces }) {
  if (await can("list", "users")) return true;
  const answers = await Promise.all(namespaces.map((ns) => can("create", "rolebindings", ns)));
  return answers.some(Boolean);
}

export const pages = [
  { path: "/ui/", nav: "Overview", title: "Overview", load: () => import("./overview.js") },
  { path: "/ui/clusters", nav: "Clusters", title: "Clusters", load: () => import("./clusters.js") },
  { path: "/ui/clusters/new", title: "Create a cluster", load: () => import("./create.js") },
  { path: "/ui/clusters/:namespace/:name", title: (p) => p.name, load: () => import("./cluster.js") },
  { path: "/ui/templates", nav: "Templates", title: "Templates", load: () => import("./templates.js") },
  { path: "/ui/templates/:kind/:namespace/:name", title: (p) => p.name, load: () => import("./template.js") },
  { path: "/ui/services", nav: "Services", title: "Services", load: () => import("./services.js") },
  { path: "/ui/services/:namespace/:name", title: (p) => p.name, load: () => import("./service.js") },
  { path: "/ui/credentials", nav: "Credentials", title: "Credentials", load: () => import("./credentials.js") },
  { path: "/ui/credentials/new", title: "New credential", load: () => import("./credential-form.js") },
  { path: "/ui/credentials/:namespace/:name", title: (p) => p.name, load: () => import("./credential.js") },
  { path: "/ui/credentials/:namespace/:name/edit", title: (p) => `Edit ${p.name}`, load: () => import("./credential-form.js") },
  { path: "/ui/audit", nav: "Audit", title: "Audit log", visible: ({ can }) => can("list", "audit"), load: () => import("./audit.js") },
  { path: "/ui/users", nav: "Users & roles", title: "Users and roles", visible: mayManageAccess, load: () => import("./users.js") },
  { path: "/ui/login", title: "Sign in", public: true, load: () => import("./login.js") },
];
