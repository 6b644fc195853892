"""Lists: pagination with continue tokens, label selectors, and across namespaces."""

from __future__ import annotations

import httpx

from .helpers import P, credential, ns_path


def _names(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return [item["metadata"]["name"] for item in page.json()["items"]]


async def test_pagination_walks_every_item_once(client: httpx.AsyncClient) -> None:
    for i in range(5):
        assert (await client.post(ns_path("credentials"), json=credential(f"c{i}"))).is_success

    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    pages = 0
    while True:
        page = await client.get(ns_path("credentials"), params=params)
        seen += _names(page)
        pages += 1
        token = page.json()["metadata"].get("continue")
        if not token:
            break
        assert len(page.json()["items"]) == 2
        params = {"limit": 2, "continue": token}
    assert seen == [f"c{i}" for i in range(5)]
    assert pages == 3


async def test_remaining_item_count(client: httpx.AsyncClient) -> None:
    for i in range(3):
        await client.post(ns_path("credentials"), json=credential(f"c{i}"))
    page = await client.get(ns_path("credentials"), params={"limit": 1})
    assert page.json()["metadata"]["remainingItemCount"] == 2


async def test_label_selector(client: httpx.AsyncClient) -> None:
    await client.post(ns_path("credentials"), json=credential("prod-a", env="prod", tier="a"))
    await client.post(ns_path("credentials"), json=credential("prod-b", env="prod", tier="b"))
    await client.post(ns_path("credentials"), json=credential("dev", env="dev"))

    def select(selector: str) -> dict[str, str]:
        return {"labelSelector": selector}

    url = ns_path("credentials")
    assert _names(await client.get(url, params=select("env=prod"))) == ["prod-a", "prod-b"]
    assert _names(await client.get(url, params=select("env!=prod"))) == ["dev"]
    assert _names(await client.get(url, params=select("tier in (b,c)"))) == ["prod-b"]
    assert _names(await client.get(url, params=select("!tier"))) == ["dev"]
    assert _names(await client.get(url, params={"labelSelector": "env=prod", "limit": 1})) == [
        "prod-a"
    ]


async def test_list_across_namespaces(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{P}/namespaces", json={"metadata": {"name": "team-b"}})).is_success
    await client.post(ns_path("credentials"), json=credential("one", owner="x"))
    await client.post(ns_path("credentials", ns="team-b"), json=credential("two", owner="x"))
    await client.post(ns_path("credentials", ns="team-b"), json=credential("three"))

    everywhere = await client.get(f"{P}/credentials")
    assert everywhere.json()["kind"] == "CredentialList"
    pairs = [
        (i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere.json()["items"]
    ]
    assert pairs == [("default", "one"), ("team-b", "three"), ("team-b", "two")]

    assert _names(await client.get(ns_path("credentials", ns="team-b"))) == ["three", "two"]
    selected = await client.get(f"{P}/credentials", params={"labelSelector": "owner=x"})
    assert _names(selected) == ["one", "two"]


async def test_empty_list(client: httpx.AsyncClient) -> None:
    page = await client.get(ns_path("clusterdeployments"))
    assert page.json()["items"] == []
    assert page.json()["kind"] == "ClusterDeploymentList"
    assert "continue" not in page.json()["metadata"]
