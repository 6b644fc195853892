"""AccessRules: a namespace uses its own templates and credentials freely, and the catalog
namespace's only where a rule targeting it (by name or by label) lists them; a refusal names
the rule. Against the real store with the default catalog in ``default``."""

from __future__ import annotations

from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.errors import Conflict, Invalid
from orbit.server import bodies
from tests.admission.conftest import Env, service_template

TEAM = "team-a"


async def namespace(env: Env, name: str, **labels: str) -> None:
    await env.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=name, labels=labels)))


async def rule(env: Env, name: str, **spec: Any) -> v1alpha1.AccessRule:
    spec.setdefault("targetNamespaces", {"list": [TEAM]})
    obj = bodies.validate(v1alpha1.AccessRule, {"metadata": {"name": name}, "spec": spec})
    created = await env.create(obj)
    assert isinstance(created, v1alpha1.AccessRule)
    return created


def cluster(
    name: str,
    template: str = "sim-single-1-0-0",
    credential: str = "sim",
    *,
    ns: str = TEAM,
    services: list[v1alpha1.Service] | None = None,
    **config: Any,
) -> v1alpha1.ClusterDeployment:
    return v1alpha1.ClusterDeployment(
        metadata=v1alpha1.ObjectMeta(name=name, namespace=ns),
        spec=v1alpha1.ClusterDeploymentSpec(
            template=template, credential=credential, config=config, services=services or []
        ),
    )


def web(template: str = "web-1-0-0") -> v1alpha1.Service:
    return v1alpha1.Service(name="web", template=template)


def refusal(err: Invalid) -> dict[str, tuple[str, str]]:
    return {c.field: (c.reason, c.message) for c in err.causes}


@pytest.fixture
async def team(env: Env) -> Env:
    await namespace(env, TEAM)
    return env


async def test_allowed_catalog_template_and_credential(team: Env) -> None:
    await rule(team, "team-a-basics", clusterTemplates=["sim-single-*"], credentials=["sim"])
    created = await team.create(cluster("c1", workers=1))
    assert created.metadata.namespace == TEAM


async def test_disallowed_template_names_the_rule(team: Env) -> None:
    await rule(
        team,
        "team-a-basics",
        clusterTemplates=["sim-single-*", "sim-ha-1-0-0"],
        credentials=["sim"],
    )
    with pytest.raises(Invalid) as caught:
        await team.create(cluster("c1", "sim-ha-1-1-0"))
    assert refusal(caught.value) == {
        "spec.template": (
            "FieldValueForbidden",
            'ClusterTemplate "sim-ha-1-1-0" is not allowed in namespace "team-a": '
            'AccessRule "team-a-basics" allows sim-single-*, sim-ha-1-0-0',
        )
    }
    assert 'AccessRule "team-a-basics"' in caught.value.message


async def test_disallowed_credential_names_the_rule(team: Env) -> None:
    await rule(team, "templates-only", clusterTemplates=["sim-*"])
    with pytest.raises(Invalid) as caught:
        await team.create(cluster("c1"))
    assert refusal(caught.value) == {
        "spec.credential": (
            "FieldValueForbidden",
            'Credential "sim" is not allowed in namespace "team-a": '
            'AccessRule "templates-only" allows no Credentials',
        )
    }


async def test_no_rule_for_the_namespace(team: Env) -> None:
    await rule(team, "for-team-b", targetNamespaces={"list": ["team-b"]}, credentials=["*"])
    with pytest.raises(Invalid) as caught:
        await team.create(cluster("c1"))
    no_rule = '"team-a": no AccessRule targets namespace "team-a"'
    assert refusal(caught.value) == {
        "spec.template": (
            "FieldValueForbidden",
            f'ClusterTemplate "sim-single-1-0-0" is not allowed in namespace {no_rule}',
        ),
        "spec.credential": (
            "FieldValueForbidden",
            f'Credential "sim" is not allowed in namespace {no_rule}',
        ),
    }


async def test_rules_add_up_and_the_refusal_names_each(team: Env) -> None:
    await rule(team, "a-templates", clusterTemplates=["sim-single-1-0-0"])
    await rule(team, "a-credentials", credentials=["sim"])
    await team.create(cluster("c1"))
    with pytest.raises(Invalid) as caught:
        await team.create(cluster("c2", "sim-ha-1-0-0"))
    assert refusal(caught.value)["spec.template"][1].endswith(
        'AccessRule "a-credentials" allows no ClusterTemplates; '
        'AccessRule "a-templates" allows sim-single-1-0-0'
    )


async def test_glob_patterns(team: Env) -> None:
    await rule(team, "globs", clusterTemplates=["sim-single-?-[01]-0"], credentials=["s*"])
    await team.create(cluster("c1", "sim-single-1-0-0"))
    await team.create(cluster("c2", "sim-single-1-1-0"))
    with pytest.raises(Invalid) as caught:
        await team.create(cluster("c3", "sim-ha-1-0-0"))
    assert set(refusal(caught.value)) == {"spec.template"}


async def test_selector_targets_namespaces_by_label(env: Env) -> None:
    await namespace(env, "team-b", tier="shared")
    await namespace(env, "team-c", tier="private")
    await rule(
        env,
        "shared-tier",
        targetNamespaces={"selector": {"matchLabels": {"tier": "shared"}}},
        clusterTemplates=["*"],
        credentials=["*"],
    )
    await env.create(cluster("c1", ns="team-b"))
    with pytest.raises(Invalid) as caught:
        await env.create(cluster("c1", ns="team-c"))
    assert set(refusal(caught.value)) == {"spec.template", "spec.credential"}

    # labels are read at admission: relabelling the namespace grants the access
    team_c = await env.store.get(v1alpha1.Namespace, None, "team-c")
    team_c.metadata.labels["tier"] = "shared"
    await env.update(team_c)
    await env.create(cluster("c1", ns="team-c"))


async def test_list_and_selector_together(env: Env) -> None:
    await namespace(env, "team-b")
    await namespace(env, "team-c", tier="shared")
    await rule(
        env,
        "either",
        targetNamespaces={
            "list": ["team-b"],
            "selector": {
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["shared"]}]
            },
        },
        clusterTemplates=["*"],
        credentials=["*"],
    )
    await env.create(cluster("c1", ns="team-b"))
    await env.create(cluster("c1", ns="team-c"))


async def test_namespace_local_objects_need_no_rule(team: Env) -> None:
    stock = await team.store.get(v1alpha1.ClusterTemplate, "default", "sim-ha-1-0-0")
    await team.create(
        v1alpha1.ClusterTemplate(
            metadata=v1alpha1.ObjectMeta(name="team-ha-1-0-0", namespace=TEAM),
            spec=stock.spec.model_copy(update={"upgrade_to": []}),
        )
    )
    await team.create(
        v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name="sim-team-a", namespace=TEAM),
            spec=v1alpha1.CredentialSpec(provider="sim"),
        )
    )
    await team.create(
        service_template("web-1-0-0").model_copy(
            update={"metadata": v1alpha1.ObjectMeta(name="web-1-0-0", namespace=TEAM)}
        )
    )
    await team.create(cluster("c1", "team-ha-1-0-0", "sim-team-a", services=[web()]))


async def test_local_object_shadows_the_catalog_one(team: Env) -> None:
    # a namespace's own "sim" credential is used, not the catalog's: no rule is needed
    await team.create(
        v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name="sim", namespace=TEAM),
            spec=v1alpha1.CredentialSpec(provider="sim"),
        )
    )
    await rule(team, "templates", clusterTemplates=["sim-single-1-0-0"])
    await team.create(cluster("c1"))
    # so c1 holds on to team-a's "sim", not the catalog's
    await team.admission.admit_delete(await team.store.get(v1alpha1.Credential, "default", "sim"))
    with pytest.raises(Conflict):
        await team.admission.admit_delete(await team.store.get(v1alpha1.Credential, TEAM, "sim"))


async def test_catalog_namespace_itself_needs_no_rule(env: Env) -> None:
    await env.create(service_template())
    await env.create(cluster("c1", "sim-ha-1-0-0", ns="default", services=[web()]))


async def test_a_configured_catalog_namespace(env: Env) -> None:
    from orbit.admission import Admission

    admission = Admission(env.store, providers={"sim"}, catalog_namespace="platform")
    await namespace(env, "platform")
    await namespace(env, TEAM)
    shared = Env(env.store, admission)
    stock = await env.store.get(v1alpha1.ClusterTemplate, "default", "sim-single-1-0-0")
    await shared.create(
        v1alpha1.ClusterTemplate(
            metadata=v1alpha1.ObjectMeta(name="base-1-0-0", namespace="platform"),
            spec=stock.spec.model_copy(update={"upgrade_to": []}),
        )
    )
    await shared.create(
        v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name="cloud", namespace="platform"),
            spec=v1alpha1.CredentialSpec(provider="sim"),
        )
    )
    await rule(shared, "platform", clusterTemplates=["base-*"], credentials=["cloud"])
    await shared.create(cluster("c1", "base-1-0-0", "cloud"))
    # "default" is an ordinary namespace now: its objects are not shared
    with pytest.raises(Invalid) as caught:
        await shared.create(cluster("c2", "sim-single-1-0-0", "cloud"))
    assert refusal(caught.value)["spec.template"][0] == "FieldValueNotFound"


async def test_not_found_lists_what_the_namespace_may_use(team: Env) -> None:
    await rule(team, "basics", clusterTemplates=["sim-single-*"], credentials=["sim"])
    with pytest.raises(Invalid) as caught:
        await team.create(cluster("c1", "sim-nano-1-0-0"))
    assert refusal(caught.value) == {
        "spec.template": (
            "FieldValueNotFound",
            'ClusterTemplate "sim-nano-1-0-0" not found in namespace "team-a" nor in the '
            'catalog namespace "default"; available: sim-single-1-0-0, sim-single-1-1-0',
        )
    }


async def test_disallowed_service_template(team: Env) -> None:
    await team.create(service_template("web-1-0-0"))
    await team.create(service_template("web-2-0-0"))
    await rule(
        team,
        "basics",
        clusterTemplates=["sim-*"],
        credentials=["sim"],
        serviceTemplates=["web-1-*"],
    )
    await team.create(cluster("c1", services=[web("web-1-0-0")]))
    with pytest.raises(Invalid) as caught:
        await team.create(cluster("c2", services=[web("web-2-0-0")]))
    assert refusal(caught.value) == {
        "spec.services[0].template": (
            "FieldValueForbidden",
            'ServiceTemplate "web-2-0-0" is not allowed in namespace "team-a": '
            'AccessRule "basics" allows web-1-*',
        )
    }

    mcs = v1alpha1.MultiClusterService(
        metadata=v1alpha1.ObjectMeta(name="web", namespace=TEAM),
        spec=v1alpha1.MultiClusterServiceSpec(services=[web("web-2-0-0")]),
    )
    with pytest.raises(Invalid) as caught:
        await team.create(mcs)
    assert set(refusal(caught.value)) == {"spec.services[0].template"}
    mcs.spec.services = [web("web-1-0-0")]
    await team.create(mcs)

    stock = await team.store.get(v1alpha1.ClusterTemplate, "default", "sim-single-1-0-0")
    base = v1alpha1.ClusterTemplate(
        metadata=v1alpha1.ObjectMeta(name="team-web-1-0-0", namespace=TEAM),
        spec=stock.spec.model_copy(update={"upgrade_to": [], "services": [web("web-2-0-0")]}),
    )
    with pytest.raises(Invalid) as caught:
        await team.create(base)
    assert set(refusal(caught.value)) == {"spec.services[0].template"}


async def test_upgrade_to_a_disallowed_template_is_refused(team: Env) -> None:
    await rule(team, "v1-only", clusterTemplates=["sim-single-1-0-*"], credentials=["sim"])
    created = await team.create(cluster("c1"))
    assert isinstance(created, v1alpha1.ClusterDeployment)
    upgraded = created.model_copy(deep=True)
    upgraded.spec.template = "sim-single-1-1-0"
    with pytest.raises(Invalid) as caught:
        await team.update(upgraded)
    assert refusal(caught.value)["spec.template"] == (
        "FieldValueForbidden",
        'ClusterTemplate "sim-single-1-1-0" is not allowed in namespace "team-a": '
        'AccessRule "v1-only" allows sim-single-1-0-*',
    )


async def test_removing_a_rule_does_not_block_unrelated_updates(team: Env) -> None:
    await team.create(service_template("web-1-0-0"))
    await rule(
        team, "basics", clusterTemplates=["sim-*"], credentials=["sim"], serviceTemplates=["*"]
    )
    created = await team.create(cluster("c1", services=[web()], workers=1))
    assert isinstance(created, v1alpha1.ClusterDeployment)
    await team.store.delete(v1alpha1.AccessRule, None, "basics")

    scaled = created.model_copy(deep=True)
    scaled.spec.config = {"workers": 3}
    scaled.spec.services = [web().model_copy(update={"values": {"replicas": 2}})]
    await team.update(scaled)

    # but a new reference is checked
    moved = (await team.store.get(v1alpha1.ClusterDeployment, TEAM, "c1")).model_copy(deep=True)
    moved.spec.template = "sim-single-1-1-0"
    with pytest.raises(Invalid) as caught:
        await team.update(moved)
    assert "no AccessRule targets" in refusal(caught.value)["spec.template"][1]


async def test_catalog_objects_in_use_elsewhere_cannot_be_deleted(team: Env) -> None:
    await team.create(service_template("web-1-0-0"))
    await rule(
        team, "basics", clusterTemplates=["sim-*"], credentials=["sim"], serviceTemplates=["*"]
    )
    await team.create(cluster("c1", services=[web()]))
    admission = team.admission
    for cls, name in (
        (v1alpha1.Credential, "sim"),
        (v1alpha1.ClusterTemplate, "sim-single-1-0-0"),
        (v1alpha1.ServiceTemplate, "web-1-0-0"),
    ):
        obj = await team.store.get(cls, "default", name)
        with pytest.raises(Conflict) as caught:
            await admission.admit_delete(obj)
        assert "team-a/c1" in caught.value.message
    # a catalog template no namespace uses can go
    unused = await team.store.get(v1alpha1.ClusterTemplate, "default", "sim-ha-1-0-0")
    await admission.admit_delete(unused)


@pytest.mark.parametrize(
    ("spec", "metadata", "field"),
    [
        ({"targetNamespaces": {}, "credentials": ["sim"]}, {}, "spec.targetNamespaces"),
        ({"credentials": ["sim"]}, {}, "spec.targetNamespaces"),
        (
            {"targetNamespaces": {"list": ["Team_A"]}, "credentials": ["sim"]},
            {},
            "spec.targetNamespaces.list[0]",
        ),
        (
            {"targetNamespaces": {"list": ["a"]}, "clusterTemplates": ["sim-*", "Sim/*"]},
            {},
            "spec.clusterTemplates[1]",
        ),
        (
            {"targetNamespaces": {"list": ["a"]}, "serviceTemplates": [""]},
            {},
            "spec.serviceTemplates[0]",
        ),
        ({"targetNamespaces": {"list": ["a"]}}, {}, "spec"),
        (
            {
                "targetNamespaces": {
                    "selector": {"matchExpressions": [{"key": "tier", "operator": "Near"}]}
                },
                "credentials": ["x"],
            },
            {},
            "spec.targetNamespaces.selector.matchExpressions[0].operator",
        ),
        (
            {"targetNamespaces": {"list": ["a"]}, "credentials": ["x"]},
            {"namespace": "default"},
            "metadata",
        ),
    ],
)
def test_bad_rules_have_field_paths(
    spec: dict[str, Any], metadata: dict[str, Any], field: str
) -> None:
    data = {"metadata": {"name": "r", **metadata}, "spec": spec}
    with pytest.raises(Invalid) as caught:
        bodies.validate(v1alpha1.AccessRule, data)
    assert [c.field for c in caught.value.causes] == [field]


def test_a_rule_round_trips_through_its_json_form() -> None:
    data = {
        "apiVersion": "orbit.k8or.io/v1alpha1",
        "kind": "AccessRule",
        "metadata": {"name": "team-a-basics"},
        "spec": {
            "targetNamespaces": {"list": ["team-a"], "selector": {"matchLabels": {"tier": "x"}}},
            "clusterTemplates": ["sim-single-*"],
            "credentials": ["sim"],
        },
    }
    obj = v1alpha1.AccessRule.model_validate(data)
    assert obj.spec.target_namespaces.names == ["team-a"]
    out = obj.to_dict()
    assert out["spec"]["targetNamespaces"]["list"] == ["team-a"]
    assert v1alpha1.AccessRule.model_validate(out) == obj
    assert v1alpha1.resolve_kind("ar") is v1alpha1.AccessRule
    assert not v1alpha1.AccessRule.NAMESPACED
