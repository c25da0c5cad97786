"""Lookup objects: a step's templates rendered and parsed into the Kubernetes objects to apply."""

from __future__ import annotations

DOCUMENTATION = r"""
name: objects
short_description: Render a step's templates into the Kubernetes objects to apply
version_added: 0.1.0
description:
  - Renders each template (searched in the role's C(templates/) like M(ansible.builtin.template))
    with the task's variables and parses the YAML documents it produces; returns one list of
    every object of every template, in order (empty documents left out).
  - What C(lookup('ansible.builtin.template', t) | ansible.builtin.from_yaml_all | list) returns,
    without that lookup's copy of every variable of the play for each template (~0.05 s a
    template on a play with every step's defaults).
options:
  _terms:
    description: The templates.
    required: true
    type: list
    elements: str
  variable_start_string:
    description: The string marking the beginning of a print statement.
    type: str
    default: "{{"
  variable_end_string:
    description: The string marking the end of a print statement.
    type: str
    default: "}}"
"""

EXAMPLES = r"""
- name: Apply the agent
  agentic.platform.k8s_apply:
    objects: "{{ lookup('agentic.platform.objects', 'agent.yml.j2') }}"
"""

RETURN = r"""
_raw:
  description: One list of the objects (dicts) of every template, in order.
  type: list
  elements: list
"""

import os
from collections import ChainMap

import yaml
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

try:
    from ansible.template import trust_as_template
except ImportError:  # before ansible-core 2.19 every template was trusted
    def trust_as_template(value):
        return value

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, variable_start_string="{{", variable_end_string="}}"):
        overrides = {"variable_start_string": variable_start_string, "variable_end_string": variable_end_string}
        objects = []
        for term in terms:
            path = self.find_file_in_search_path(variables, "templates", term)
            if not path:
                raise AnsibleError(f"the template {term} could not be found")
            # includes are searched as ansible.builtin.template searches them
            searchpath = [os.path.dirname(path)]
            for base in variables.get("ansible_search_path") or []:
                searchpath += [os.path.join(base, "templates"), base]
            # The task's variables under a layer of the template's own: nothing is copied.
            layered = ChainMap({"template_path": term, "template_fullpath": path}, variables)
            templar = self._templar.copy_with_new_env(available_variables=layered, searchpath=searchpath)
            text = templar.template(trust_as_template(self._loader.get_text_file_contents(path)),
                                    escape_backslashes=False, overrides=overrides)
            # A template that renders nothing comes back as None (not the text "None").
            objects += [doc for doc in yaml.load_all("" if text is None else str(text), Loader=LOADER) if doc]
        return [objects]
