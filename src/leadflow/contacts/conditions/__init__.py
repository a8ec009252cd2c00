"""One condition language for "which contacts" (docs/conditions.md).

A tree of ``Condition(field, operator, value)`` leaves and ``Group("all" | "any", children)``
nodes, with a JSON form (``tree_to_json`` / ``tree_from_json``, a ``version`` key at the top),
checked against a registry of fields (``conditions_validate``: a ``ValidationFailed`` naming
each bad path) and compiled to one ``Q`` on Contact (``conditions_compile``). Other apps add
fields (``condition_field_register``) and families of fields (``condition_family_register``)
without editing contacts; ``behaviour_compile`` builds "did X at least N times within D
days" as one grouped subquery. The list's simple parameters become a tree through
``conditions_from_params``.
"""

from leadflow.contacts.conditions import builtin  # noqa: F401 - registers contacts' fields
from leadflow.contacts.conditions.compiler import (
    behaviour_compile,
    column_compile,
    conditions_compile,
    conditions_validate,
)
from leadflow.contacts.conditions.fields import (
    CONDITION_FIELDS,
    OPERATORS_BY_TYPE,
    ConditionContext,
    ConditionField,
    ValueProblem,
    behaviour_value_check,
    condition_family_register,
    condition_field_get,
    condition_field_register,
    condition_field_unregister,
)
from leadflow.contacts.conditions.params import (
    SIMPLE_PARAMETERS,
    conditions_from_params,
    conditions_from_query,
)
from leadflow.contacts.conditions.tree import (
    CONDITIONS_VERSION,
    Condition,
    Group,
    Node,
    conditions_all,
    tree_from_json,
    tree_to_json,
)

__all__ = [
    "CONDITIONS_VERSION",
    "CONDITION_FIELDS",
    "OPERATORS_BY_TYPE",
    "SIMPLE_PARAMETERS",
    "Condition",
    "ConditionContext",
    "ConditionField",
    "Group",
    "Node",
    "ValueProblem",
    "behaviour_compile",
    "behaviour_value_check",
    "column_compile",
    "condition_family_register",
    "condition_field_get",
    "condition_field_register",
    "condition_field_unregister",
    "conditions_all",
    "conditions_compile",
    "conditions_from_params",
    "conditions_from_query",
    "conditions_validate",
    "tree_from_json",
    "tree_to_json",
]
