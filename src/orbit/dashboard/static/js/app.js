// Boot: ask who is signed in (401: the login page), draw the shell (nav, namespace selector,
// user, sign out) and hand every /ui/ URL to the router, which renders its page into <main>.
//
// Each page's render(main, params, ctx) gets ctx:
//   ctx.user        the whoami body ({user, groups, scopes, roles, catalogNamespace})
//   ctx.namespace   the namespace chosen in the selector ("" = all namespaces)
//   ctx.namespaces  the namespaces the caller can see (sorted names)
//   ctx.allNamespaces  whether the caller may list across all namespaces
//   ctx.query       URLSearchParams of the URL
//   ctx.navigate(url, {replace}), ctx.setQuery(params), ctx.setTitle(text)
//   ctx.can(verb, resource, namespace)   (auth.can)

import { ApiError, onUnauthorized } from "./api.js";
import { can, clearAuthCache, signOut, visibleNamespaces, whoami } from "./auth.js";
import { setCatalogNamespace } from "./fleet.js";
import { pages } from "./pages/index.js";
import { match, navigate, rerender, route, setQuery, stale, start } from "./router.js";
import { errorBox, h, replaceChildren, toast } from "./ui.js";

const NAMESPACE_KEY = "orbit.namespace";
const LOGIN = "/ui/login";

const main = document.getElementById("main");
const state = { shellFor: null, namespaces: [], allNamespaces: false, namespace: "" };
let cleanup = null;
let firstRender = true;

function setTitle(text) {
  document.title = text ? `${text} · OpsBoard` : "OpsBoard · Orbit";
}

function loginUrl() {
  const next = location.pathname + location.search;
  return next.startsWith(LOGIN) ? next : `${LOGIN}?next=${encodeURIComponent(next)}`;
}

onUnauthorized(() => {
  if (location.pathname === LOGIN) return; // the login page shows its own message
  clearAuthCache();
  state.shellFor = null;
  navigate(loginUrl(), { replace: true });
});

async function drawShell(who) {
  document.getElementById("user").textContent = who.user;
  const namespaces = await visibleNamespaces();
  const allNamespaces = await can("list", "*/clusterdeployments");
  state.namespaces = namespaces;
  state.allNamespaces = allNamespaces;
  const stored = localStorage.getItem(NAMESPACE_KEY);
  const choices = (allNamespaces ? [""] : []).concat(namespaces);
  state.namespace = choices.includes(stored) ? stored : choices[0] || "";
  const select = document.getElementById("namespace");
  replaceChildren(
    select,
    choices.map((ns) => h("option", { value: ns, selected: ns === state.namespace }, ns || "All namespaces")),
  );
  select.disabled = choices.length < 2;

  const ctx = pageContext(new URLSearchParams());
  const links = [];
  for (const page of pages) {
    if (!page.nav) continue;
    if (page.visible && !(await page.visible(ctx))) continue;
    links.push(h("li", {}, h("a", { href: page.path, dataset: { path: page.path } }, page.nav)));
  }
  replaceChildren(document.getElementById("nav-links"), links);
  state.shellFor = who.user;
}

function markCurrent(pathname) {
  for (const link of document.querySelectorAll("#nav-links a")) {
    const path = link.dataset.path;
    const current = path === "/ui/" ? pathname === "/ui/" || pathname === "/ui" : pathname.startsWith(path);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function pageContext(query, who = null) {
  return {
    user: who,
    namespace: state.namespace,
    namespaces: state.namespaces,
    allNamespaces: state.allNamespaces,
    query,
    navigate,
    setQuery,
    setTitle,
    can,
  };
}

function notFound(pathname) {
  setTitle("Page not found");
  replaceChildren(
    main,
    h("h1", {}, "Page not found"),
    h("p", {}, `There is no page at ${pathname}.`),
    h("p", {}, h("a", { href: "/ui/" }, "Go to the overview")),
  );
}

async function renderPage(pathname, query, n) {
  if (cleanup) {
    const done = cleanup;
    cleanup = null;
    try {
      done();
    } catch (err) {
      console.error(err);
    }
  }
  setMenu(false);
  const found = match(pathname);
  let who = null;
  if (!found || !found.route.public) {
    try {
      who = await whoami();
    } catch (err) {
      if (stale(n)) return;
      if (err instanceof ApiError && err.code === 401) {
        navigate(loginUrl(), { replace: true });
        return;
      }
      document.body.className = "signed-out";
      replaceChildren(main, h("h1", {}, "OpsBoard"), errorBox(err));
      return;
    }
    setCatalogNamespace(who.catalogNamespace);
    if (state.shellFor !== who.user) await drawShell(who);
    if (stale(n)) return;
    document.body.className = "signed-in";
    markCurrent(pathname);
  } else {
    document.body.className = "signed-out";
  }

  if (!found) {
    notFound(pathname);
  } else {
    const { route: r, params } = found;
    setTitle(typeof r.title === "function" ? r.title(params) : r.title);
    try {
      const module = await r.loader();
      if (stale(n)) return;
      main.replaceChildren();
      const result = await module.render(main, params, pageContext(query, who));
      if (stale(n)) {
        if (typeof result === "function") result();
        return;
      }
      cleanup = typeof result === "function" ? result : null;
    } catch (err) {
      if (stale(n)) return;
      console.error(err);
      replaceChildren(main, h("h1", {}, "This page failed to load"), errorBox(err));
    }
  }
  if (!firstRender) main.focus({ preventScroll: false });
  firstRender = false;
}

function setMenu(open) {
  const toggle = document.querySelector(".menu-toggle");
  toggle.setAttribute("aria-expanded", String(open));
  document.getElementById("nav").classList.toggle("open", open);
}

document.querySelector(".menu-toggle").addEventListener("click", (event) => {
  setMenu(event.currentTarget.getAttribute("aria-expanded") !== "true");
});

document.getElementById("namespace").addEventListener("change", (event) => {
  state.namespace = event.target.value;
  localStorage.setItem(NAMESPACE_KEY, state.namespace);
  rerender();
});

document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await signOut();
  } catch (err) {
    toast(err.message, "error");
    return;
  }
  state.shellFor = null;
  await navigate(LOGIN, { replace: true });
  toast("Signed out.", "success");
});

for (const page of pages) route(page.path, page.load, page);
start(renderPage);
