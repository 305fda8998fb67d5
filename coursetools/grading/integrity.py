"""Tamper detection: the checking machinery is fingerprinted outside the student's reach.

A student's exercise code runs in the same kernel as the checks, so it could make a wrong
answer look right: rebind ``check_scalar``, set ``numpy.isclose`` to a function that always
agrees, add an IPython input transformer that turns every later cell (the checks included)
into ``pass``, swallow exceptions with a custom exception handler, or rebind a reference
function the check compares against. The grader therefore

1. takes a **fingerprint** of the machinery (every attribute of ``utils.*``, ``numpy.*``,
   ``builtins``, ``math`` and, if loaded, ``torch``; the identities and code objects of the
   functions and classes there; IPython's input and AST transformers, event callbacks,
   exception and display hooks; the kernel's execute handlers; ``sys`` hooks, streams and
   tracers) just before the first exercise, and keeps it **in the grader process**, where no
   submitted code runs;
2. after every cell from then on, asks the kernel for the fingerprint again with a fresh
   nonce and compares. A changed fingerprint, or no answer at all (the probe cell was
   silenced or rewritten), marks the exercise whose code last ran as ``tampered`` and stops
   the run;
3. restores, after each exercise cell, every name the lab had defined (the exercise's own
   names excepted) from a snapshot taken just before it, and checks against the identities
   the grader recorded that the restored names are the lab's.

So a check passes only on a positive answer from an untouched kernel, never on the mere
absence of an error. What this does **not** catch is said in ``instructors/grading.md``: code
written against this very probe (faking its answer), in-place changes to lab objects other
than arrays, and answers that call the lab's reference or read the check's frames.

Example
-------
>>> source = probe_source("n0nce", modules=None)
>>> "n0nce" in source and "def __grader_probe" in source
True
"""
from __future__ import annotations

import ast
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["probe_source", "parse_answer", "Fingerprint", "compare", "stored_names",
           "new_nonce", "ANSWER_MARK"]

#: Start of the line the probe prints; the rest of the line is its JSON answer.
ANSWER_MARK = "\x1egrader-probe "

# The probe, as it runs in the kernel. It is sent whole each time (not defined once and
# called), so that a submission cannot replace it by rebinding a name. Placeholders:
# NONCE, MODULES (a list of module names, or None at the baseline), MODE ("save",
# "restore" or "check") and KEEP (names restore must not touch).
_PROBE = r'''
def __grader_probe(NONCE, MODULES, MODE, KEEP):
    import sys, hashlib, json, threading
    from IPython import get_ipython
    ip = get_ipython()
    _missing = object()
    def ref(v):
        # a bound method is re-created on each attribute access: compare what it binds
        func = getattr(v, "__func__", None)
        if func is not None and hasattr(v, "__self__"):
            return (id(func), id(v.__self__))
        return id(v)
    def code(v):
        if type(v).__name__ != "function":
            return 0
        cells = []
        for c in v.__closure__ or ():
            try:
                cells.append(id(c.cell_contents))
            except ValueError:
                cells.append(0)
        return (id(v.__code__), id(v.__defaults__), id(v.__kwdefaults__), tuple(cells))
    if MODULES is None:
        MODULES = sorted(n for n in list(sys.modules)
                         if n in ("builtins", "math", "numpy", "utils", "torch")
                         or n.startswith(("numpy.", "utils.")))
    names = set(MODULES)
    groups = {}
    for name in MODULES:
        mod = sys.modules.get(name, _missing)
        items = [id(mod)]
        try:
            attrs = dict(vars(mod)) if mod is not _missing else {}
        except TypeError:
            attrs = {}
        for key in sorted(attrs):
            if key.startswith("__") and key not in ("__import__", "__build_class__"):
                continue
            if name == "builtins" and key in ("_", "input", "__IPYTHON__"):
                continue
            value = attrs[key]
            if isinstance(value, type(sys)):
                real = sys.modules.get(getattr(value, "__name__", None) or "") is value
                if real and value.__name__ == name + "." + key:
                    continue  # a submodule bound on its package (also when imported later)
                items.append((key, "module", getattr(value, "__name__", None), real))
                continue
            items.append((key, id(value), code(value)))
            # the course's own classes (CheckFailed, ...) have their methods fingerprinted
            if name.startswith("utils") and isinstance(value, type):
                items.append(tuple((a, id(b), code(b)) for a, b in sorted(vars(value).items())
                                   if a not in ("__dict__", "__weakref__", "__doc__")))
        if name == "torch" and mod is not _missing:
            tensor = getattr(mod, "Tensor", None)
            items.append(tuple((a, id(b), code(b)) for a, b in sorted(vars(tensor).items())))
        groups["module " + name] = items
    def static(obj, attr):
        own = obj.__dict__.get(attr, _missing) if hasattr(obj, "__dict__") else _missing
        for klass in type(obj).__mro__:
            if attr in klass.__dict__:
                found = klass.__dict__[attr]
                return (0 if own is _missing else ref(own), id(found), code(found))
        return (0 if own is _missing else ref(own), 0, 0)
    def trusted(f):
        # callbacks that IPython, ipykernel and matplotlib register as figures are shown:
        # functions (or methods) of those packages, found there under their own name
        func = getattr(f, "__func__", f)
        owner = getattr(f, "__self__", None)
        home = type(owner) if owner is not None else sys.modules.get(
            getattr(func, "__module__", None) or "")
        top = (getattr(home, "__module__", None) if owner is not None
               else getattr(home, "__name__", None)) or ""
        if top.split(".")[0] not in ("IPython", "ipykernel", "matplotlib",
                                     "matplotlib_inline", "ipywidgets", "comm"):
            return False
        if owner is not None:
            return any(klass.__dict__.get(func.__name__) is func for klass in type(owner).__mro__)
        return getattr(home, getattr(func, "__name__", ""), None) is func
    shell = [id(type(ip))]
    for attr in ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                 "transform_ast", "should_run_async", "ex", "ev", "showtraceback",
                 "_showtraceback", "showsyntaxerror", "showindentationerror", "compile",
                 "displayhook", "display_pub", "display_trap", "builtin_trap", "CustomTB",
                 "custom_exceptions", "excepthook", "input_transformer_manager", "events",
                 "kernel", "user_ns", "user_global_ns", "user_module", "hooks",
                 "set_custom_exc", "prefilter_manager", "ast_transformers",
                 "input_transformers_cleanup", "input_transformers_post"):
        shell.append((attr, static(ip, attr)))
    for attr in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        shell.append((attr, tuple(id(t) for t in getattr(ip, attr, ()))))
    manager = ip.input_transformer_manager
    for attr in ("cleanup_transforms", "line_transforms", "token_transformers"):
        shell.append((attr, tuple(id(t) for t in getattr(manager, attr, ()))))
    shell.append(("custom_exceptions", tuple(id(e) for e in ip.custom_exceptions)))
    shell.append(("events", tuple((event, tuple(ref(f) for f in callbacks if not trusted(f)))
                                  for event, callbacks in sorted(ip.events.callbacks.items()))))
    shell.append(("displayhook", static(ip.displayhook, "__call__"),
                  static(ip.displayhook, "write_output_prompt")))
    kernel = ip.kernel
    shell.append(("kernel", id(type(kernel)), static(kernel, "do_execute"),
                  static(kernel, "execute_request"), static(kernel, "dispatch_shell"),
                  tuple((k, ref(v)) for k, v in sorted(kernel.shell_handlers.items())),
                  static(kernel.session, "send"), id(kernel.iopub_socket)))
    groups["IPython shell and kernel"] = shell
    groups["sys hooks and streams"] = [
        # (not the streams' own `write`: ipykernel re-binds it for each request)
        id(sys.stdout), id(type(sys.stdout).write), id(sys.stderr), id(type(sys.stderr).write),
        ref(sys.displayhook), ref(sys.excepthook), ref(sys.gettrace()), ref(sys.getprofile()),
        ref(threading._trace_hook), ref(threading._profile_hook), id(sys.modules),
        tuple(id(f) for f in sys.meta_path), tuple(id(f) for f in sys.path_hooks),
        id(__builtins__) if not isinstance(__builtins__, dict) else id(sys.modules["builtins"]),
    ]
    answer = {"nonce": NONCE, "modules": MODULES,
              "groups": {g: hashlib.sha256(repr(v).encode()).hexdigest()[:16]
                         for g, v in groups.items()}}
    store = sys.modules.setdefault("__grader__", type(sys)("__grader__"))
    user = [k for k in ip.user_ns if not k.startswith("_") and k not in ip.user_ns_hidden]
    if MODE == "save":
        store.saved = {k: ip.user_ns[k] for k in user}
        answer["names"] = {k: id(v) for k, v in store.saved.items()}
    elif MODE == "restore":
        restored = []
        for k, v in store.saved.items():
            if k not in KEEP and ip.user_ns.get(k, _missing) is not v:
                ip.user_ns[k] = v
                restored.append(k)
        answer["restored"] = sorted(restored)
        answer["names"] = {k: id(ip.user_ns[k]) for k in store.saved if k not in KEEP}
    print(%(mark)r + json.dumps(answer))


__grader_probe(%(nonce)r, %(modules)r, %(mode)r, %(keep)r)
'''.lstrip()

# The cell that runs the probe: in a namespace of its own with the real builtins, so that a
# student's `id = 3` or `sorted = ...` in the notebook does not break it.
_CELL = ('__import__("builtins").exec(%s, {"__builtins__": __import__("builtins"), '
         '"__name__": "__grader__"})  # grader: tamper probe')


def new_nonce() -> str:
    """A fresh random token that the probe must echo (so an old answer cannot be replayed).

    Examples
    --------
    >>> len(new_nonce())
    32
    """
    return secrets.token_hex(16)


def probe_source(nonce: str, modules: Sequence[str] | None, mode: str = "check",
                 keep: Sequence[str] = ()) -> str:
    """The source of one probe cell.

    Parameters
    ----------
    nonce : str
        The token the answer must carry.
    modules : sequence of str or None
        The modules to fingerprint; None at the baseline (the probe picks them and says which).
    mode : {"check", "save", "restore"}
        ``"save"`` also snapshots the lab's names, ``"restore"`` restores them (except
        ``keep``) and reports their identities.
    keep : sequence of str
        Names the exercise itself defines; ``restore`` leaves them alone.

    Examples
    --------
    >>> "__grader_probe" in probe_source("x", None, "save")
    True
    >>> compile(probe_source("x", ["numpy"], "restore", ["y"]), "probe", "exec").co_name
    '<module>'
    """
    if mode not in ("check", "save", "restore"):
        raise ValueError(f"mode must be 'check', 'save' or 'restore', got {mode!r}")
    probe = _PROBE % {"nonce": nonce, "modules": None if modules is None else list(modules),
                      "mode": mode, "keep": sorted(keep), "mark": ANSWER_MARK}
    return _CELL % repr(probe)


def parse_answer(printed: str, nonce: str) -> dict[str, Any] | None:
    """The probe's answer in a cell's printed output, or None if it did not answer.

    Examples
    --------
    >>> parse_answer(ANSWER_MARK + '{"nonce": "a", "groups": {}}\\n', "a")["groups"]
    {}
    >>> parse_answer("nothing", "a") is None
    True
    """
    for line in printed.split("\n"):  # not splitlines(): it splits at the mark's \x1e too
        if line.startswith(ANSWER_MARK):
            try:
                answer = json.loads(line[len(ANSWER_MARK):])
            except json.JSONDecodeError:
                return None
            if isinstance(answer, dict) and answer.get("nonce") == nonce:
                return answer
    return None


@dataclass
class Fingerprint:
    """The machinery's fingerprint, as the grader keeps it (outside the kernel)."""

    modules: list[str]
    groups: dict[str, str]
    names: dict[str, int] = field(default_factory=dict)


def compare(baseline: Fingerprint, answer: dict[str, Any] | None) -> list[str]:
    """What differs between the baseline and a probe's answer (empty: nothing).

    Examples
    --------
    >>> base = Fingerprint(["numpy"], {"module numpy": "ab"})
    >>> compare(base, {"groups": {"module numpy": "ab"}})
    []
    >>> compare(base, {"groups": {"module numpy": "cd"}})
    ['module numpy']
    >>> compare(base, None)
    ['the probe gave no answer (the cell was silenced or rewritten)']
    """
    if answer is None or not isinstance(answer.get("groups"), dict):
        return ["the probe gave no answer (the cell was silenced or rewritten)"]
    groups = answer["groups"]
    return [group for group, digest in baseline.groups.items() if groups.get(group) != digest]


def stored_names(source: str) -> set[str]:
    """Names a cell binds at its top level (assignments, ``def``, ``class``, imports, loops).

    Examples
    --------
    >>> sorted(stored_names("import numpy as np\\nx, y = 1, 2\\ndef f(a):\\n    z = a"))
    ['f', 'np', 'x', 'y']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
            return  # names inside a function or class body are local to it
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update((a.asname or a.name).split(".")[0] for a in node.names)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found
