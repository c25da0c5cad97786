"""Lookup agentic.platform.objects: a step's templates rendered with the task's variables and
parsed into objects, as lookup('ansible.builtin.template') | from_yaml_all | list did, for every
template given at once and with the monitoring step's << >> delimiters."""

from __future__ import annotations

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.agentic.platform.plugins.lookup.objects import LookupModule


def run(tmp_path, terms, variables, **kwargs):
    (tmp_path / "templates").mkdir(exist_ok=True)
    loader = DataLoader()
    lookup = LookupModule(loader=loader, templar=Templar(loader=loader, variables=variables))
    return lookup.run(terms, {**variables, "ansible_search_path": [str(tmp_path)]}, **kwargs)


def test_every_template_renders_into_one_list_of_objects(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "a.yml.j2").write_text(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ name }}'}\n---\n"
        "{% if extra %}kind: Extra\n{% endif %}")
    (tmp_path / "templates" / "b.yml.j2").write_text(
        "kind: Service\nmetadata: {name: << name >>-svc, note: '{{ x }}'}\n")
    variables = {"name": "web", "extra": False}
    web = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}}
    assert run(tmp_path, ["a.yml.j2"], variables) == [[web]]
    both = run(tmp_path, ["a.yml.j2", "b.yml.j2"], {**variables, "extra": True},
               variable_start_string="<<", variable_end_string=">>")
    assert [o["kind"] for o in both[0]] == ["ConfigMap", "Extra", "Service"]
    assert both[0][0]["metadata"]["name"] == "{{ name }}"  # with << >>, {{ }} is text
    assert both[0][2]["metadata"] == {"name": "web-svc", "note": "{{ x }}"}


def test_a_template_that_renders_nothing_gives_no_object(tmp_path):
    """An empty rendering comes back from the templar as None: no object, not the string "None"."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "off.yml.j2").write_text("{% if on %}\nkind: ConfigMap\n{% endif %}\n")
    (tmp_path / "templates" / "b.yml.j2").write_text("kind: Service\n")
    assert run(tmp_path, ["off.yml.j2", "b.yml.j2"], {"on": False}) == [[{"kind": "Service"}]]
