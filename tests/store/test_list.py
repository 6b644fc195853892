"""list: ordering, namespaces, label selectors, and paging with limit/continue."""

from __future__ import annotations

import pytest

from orbit import errors
from orbit.api import selectors, v1alpha1
from orbit.store import SqlStore

from .helpers import cluster, credential, with_namespace

CD = v1alpha1.ClusterDeployment


def names(items: list[CD]) -> list[tuple[str | None, str]]:
    return [(o.metadata.namespace, o.metadata.name) for o in items]


async def fill(store: SqlStore, count: int) -> list[tuple[str | None, str]]:
    """``count`` clusters over two namespaces, created out of order; every third is env=prod."""
    for ns in ("team-b", "team-a"):
        await with_namespace(store, ns)
    made = []
    for i in reversed(range(count)):
        ns = "team-a" if i % 2 else "team-b"
        labels = {"env": "prod" if i % 3 == 0 else "dev", "idx": str(i)}
        await store.create(cluster(f"c{i:03d}", ns, labels=labels))
        made.append((ns, f"c{i:03d}"))
    return sorted(made)


async def test_list_is_ordered_by_namespace_then_name(store: SqlStore) -> None:
    expected = await fill(store, 7)
    await store.create(credential("c000", "team-a"))  # another kind is not listed

    result = await store.list(CD)

    assert names(result.items) == expected
    assert result.continue_token is None
    assert result.revision == await store.revision()
    only_a = await store.list(CD, "team-a")
    assert names(only_a.items) == [k for k in expected if k[0] == "team-a"]
    assert (await store.list(CD, "nobody")).items == []


async def test_label_selector(store: SqlStore) -> None:
    await fill(store, 9)
    prod = await store.list(CD, selector=selectors.parse("env=prod"))
    assert sorted(o.metadata.labels["idx"] for o in prod.items) == ["0", "3", "6"]
    some = await store.list(CD, "team-a", selector=selectors.parse("env!=prod,idx in (1,3,4,5)"))
    assert names(some.items) == [("team-a", "c001"), ("team-a", "c005")]


async def test_pages_cover_every_object_once(store: SqlStore) -> None:
    expected = await fill(store, 11)
    seen: list[tuple[str | None, str]] = []
    token = None
    pages = 0
    while True:
        page = await store.list(CD, limit=4, continue_token=token)
        pages += 1
        assert len(page.items) <= 4
        seen += names(page.items)
        token = page.continue_token
        if token is None:
            assert page.remaining is None
            break
        assert page.remaining == len(expected) - len(seen)
    assert seen == expected
    assert pages == 3


async def test_exact_page_has_no_continue_token(store: SqlStore) -> None:
    await fill(store, 4)
    page = await store.list(CD, limit=4)
    assert len(page.items) == 4
    assert page.continue_token is None


@pytest.mark.parametrize("limit", [1, 2, 5])
async def test_pages_with_a_selector(store: SqlStore, limit: int) -> None:
    expected = await fill(store, 20)
    selector = selectors.parse("env=dev")
    everything = names((await store.list(CD, selector=selector)).items)
    assert len(everything) == len([k for k in expected if int(k[1][1:]) % 3])
    seen: list[tuple[str | None, str]] = []
    token = None
    while True:
        page = await store.list(CD, selector=selector, limit=limit, continue_token=token)
        assert 0 < len(page.items) <= limit
        seen += names(page.items)
        token = page.continue_token
        if token is None:
            break
    assert seen == everything


async def test_selector_matching_nothing_after_a_full_page(store: SqlStore) -> None:
    await fill(store, 6)
    # Only c000 and c003 are prod; c003 sorts into team-a, c000 into team-b (last).
    page = await store.list(CD, selector=selectors.parse("env=prod"), limit=2)
    assert len(page.items) == 2
    assert page.continue_token is None


async def test_namespaced_pages(store: SqlStore) -> None:
    expected = [k for k in await fill(store, 10) if k[0] == "team-b"]
    first = await store.list(CD, "team-b", limit=3)
    second = await store.list(CD, "team-b", limit=3, continue_token=first.continue_token)
    assert names(first.items + second.items) == expected[:6]


@pytest.mark.parametrize("token", ["not a token!", "eyJ2IjogMn0", "bnVsbA", ""])
async def test_bad_continue_token_is_bad_request(store: SqlStore, token: str) -> None:
    await fill(store, 2)
    if not token:
        # An empty token means "from the start", as an absent one does.
        assert len((await store.list(CD, continue_token=token)).items) == 2
        return
    with pytest.raises(errors.BadRequest, match="continue token"):
        await store.list(CD, limit=1, continue_token=token)


async def test_every_selector_operator_agrees_with_python(store: SqlStore) -> None:
    """Selectors run in SQL first: each operator must select exactly what Python's would."""
    from orbit.api import selectors as sel

    await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name="sel")))
    labelsets = [
        {},
        {"env": "dev"},
        {"env": "prod", "tier": "db"},
        {"tier": "web"},
        {"orbit.k8or.io/cluster": "c1", "env": "dev"},
        {"env": ""},
    ]
    for i, labels in enumerate(labelsets):
        await store.create(
            v1alpha1.Credential(
                metadata=v1alpha1.ObjectMeta(name=f"o{i}", namespace="sel", labels=labels),
                spec=v1alpha1.CredentialSpec(provider="sim"),
            )
        )
    for query in (
        "env=dev",
        "env!=dev",
        "env in (dev,prod)",
        "env notin (dev)",
        "tier",
        "!tier",
        "env=dev,!tier",
        "orbit.k8or.io/cluster=c1",
        "env=",
        "env==prod",
    ):
        parsed = sel.parse(query)
        got = [
            o.metadata.name
            for o in (await store.list(v1alpha1.Credential, "sel", selector=parsed)).items
        ]
        want = [f"o{i}" for i, labels in enumerate(labelsets) if parsed.matches(labels)]
        assert got == want, query
