"""Code the grader sends into the kernel: it records answers as plain data and judges nothing.

The grader does not import this module into the kernel (the sandbox sees only ``utils/``):
it sends its source inside a cell (see :func:`coursetools.grading.recorder.arm_source`), which
runs it in a namespace of its own and calls one of its entry points:

* :func:`install` binds ``check_function``, ``check_scalar``, ``check_array`` and
  ``check_choice`` in the notebook's namespace, just before a check cell runs. In ``"key"``
  mode (the reference lab, no student code) they record the check's inputs, the reference's
  values and the tolerances, then run the real check. In ``"answer"`` mode (a submission) they
  call the student's code on the inputs the grader sent and record what it returned. Nothing
  is compared here: the verdict is computed in the grader's own process. :func:`uninstall`
  binds the real checks again after the check cell.
* :func:`snapshot` and :func:`restore` put back, after an exercise cell, the lab's names the
  cell rebound by accident (a courtesy to the student; no verdict depends on it).

Every record is one JSON line appended to a file the grader names. Values go through
:func:`encode`, which accepts only plain data: ``None``, ``bool``, ``int``, ``float``,
``complex``, ``str``, lists, tuples, dicts with string keys, numpy arrays and scalars and torch
tensors of numeric types (as dtype, shape and bytes). Any other type is refused and recorded
as refused, so an object that pretends to be a number or a string never reaches a check.

Student code runs in the same process and may rewrite anything here. That is harmless by
design: what it can forge is only *an answer*, which the grader then compares with a
reference that was never in the kernel.

Example
-------
>>> import numpy as np
>>> encode(np.arange(2, dtype=np.int64))["shape"]
[2]
>>> decode(encode([1.5, "a", None]))
[1.5, 'a', None]
"""
import base64
import json
import sys

MAX_DEPTH = 20              # nesting of lists, tuples and dicts
MAX_BYTES = 32 * 2**20      # of one encoded answer: larger answers are refused
_DTYPES = ("b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")


class Refused(Exception):
    """A value that is not plain data; the message names its type."""


def _type_name(value):
    kind = type(value)
    return f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"


def _array(arr, origin):
    np = sys.modules["numpy"]
    arr = np.array(arr, order="C")  # (not ascontiguousarray, which makes 0-d arrays 1-d)
    code = arr.dtype.str[1:]
    if code not in _DTYPES:
        raise Refused(f"an array of dtype {arr.dtype} (not numbers)")
    if arr.nbytes > MAX_BYTES:
        raise Refused(f"an array of {arr.nbytes} bytes (more than {MAX_BYTES})")
    return {"t": "array", "origin": origin, "dtype": "<" + code if arr.dtype.str[0] != "|"
            else "|" + code, "shape": list(arr.shape),
            "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def encode(value, depth=0):
    """``value`` as JSON-ready plain data; :class:`Refused` for any other type.

    Types are compared exactly (``type(x) is float``), so subclasses that override ``__eq__``
    or ``__array__`` are refused rather than trusted.
    """
    if depth > MAX_DEPTH:
        raise Refused(f"data nested more than {MAX_DEPTH} deep")
    kind = type(value)
    np = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        return {"t": "int", "v": str(value)}
    if kind is float:
        return {"t": "float", "v": repr(value)}
    if kind is complex:
        return {"t": "complex", "v": [repr(value.real), repr(value.imag)]}
    if kind is str:
        return {"t": "str", "v": value}
    if kind is list or kind is tuple:
        return {"t": kind.__name__, "v": [encode(item, depth + 1) for item in value]}
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise Refused("a dict whose keys are not all strings")
        return {"t": "dict", "v": [[key, encode(item, depth + 1)] for key, item in value.items()]}
    if np is not None:
        if kind is np.ndarray:
            return _array(value, "numpy")
        if kind in set(np.sctypeDict.values()) and issubclass(kind, np.generic):
            return _array(np.asarray(value), "numpy scalar")
    if torch is not None and kind in (torch.Tensor, torch.nn.Parameter):
        tensor = value.detach().cpu()
        if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: widen, exactly
            tensor = tensor.float()
        return _array(tensor.numpy(), "torch")
    raise Refused(f"a {_type_name(value)}")


def decode(data, own=None):
    """The value :func:`encode` encoded (arrays as new numpy arrays or torch tensors).

    ``{"t": "cell"}`` stands for an input the key could not encode (a function): ``own``, the
    value the check cell itself passed, is used in its place.
    """
    kind = data["t"]
    if kind == "cell":
        return own
    if kind == "none":
        return None
    if kind in ("bool", "str"):
        return data["v"]
    if kind == "int":
        return int(data["v"])
    if kind == "float":
        return float(data["v"])
    if kind == "complex":
        return complex(float(data["v"][0]), float(data["v"][1]))
    if kind in ("list", "tuple"):
        owns = own if isinstance(own, (list, tuple)) and len(own) == len(data["v"]) else \
            [None] * len(data["v"])
        items = [decode(item, o) for item, o in zip(data["v"], owns)]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        owns = own if isinstance(own, dict) else {}
        return {key: decode(item, owns.get(key)) for key, item in data["v"]}
    if kind == "array":
        np = __import__("numpy")
        raw = base64.b64decode(data["b64"])
        arr = np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
        if data.get("origin") == "torch":
            return __import__("torch").from_numpy(arr)
        if data.get("origin") == "numpy scalar":
            return arr[()]
        return arr
    raise ValueError(f"unknown encoded type {kind!r}")


def _encode_input(value):
    try:
        return encode(value)
    except Refused:
        return {"t": "cell"}  # a function (a score, a boundary): the check cell's own


def _safe_encode(value):
    try:
        return {"value": encode(value)}
    except Refused as err:
        return {"refused": str(err)}
    except Exception as err:  # noqa: BLE001 - e.g. a tensor that cannot leave its device
        return {"refused": f"a value that could not be read ({type(err).__name__})"}


def _error_text(err):
    try:
        return str(err)[:2000]
    except Exception:  # noqa: BLE001 - a __str__ that raises
        return "(its message could not be read)"


def install(mode, calls, path):
    """Bind the four checks in the notebook's namespace to recorders (see the module's text).

    Parameters
    ----------
    mode : {"key", "answer"}
    calls : list
        In ``"answer"`` mode, the key's calls of this check cell, in order (their inputs).
    path : str
        File the records are appended to, one JSON line each.
    """
    from IPython import get_ipython
    user_ns = get_ipython().user_ns
    count = [0]

    def write(record):
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def next_call():
        count[0] += 1
        return count[0] - 1

    def split(case):
        if isinstance(case, tuple):
            return list(case), {}
        if isinstance(case, dict):
            return [], dict(case)
        return None, None

    if mode == "key":
        import utils.checks as real

        def check_function(student_fn, reference_fn, cases, name=None, rtol=1e-6, atol=1e-8):
            n = next_call()
            encoded, expected = [], []
            for case in cases:
                args, kwargs = split(case)
                if args is None:
                    break  # the real check below says what is wrong with the case
                encoded.append({"args": [_encode_input(a) for a in args],
                                "kwargs": {k: _encode_input(v) for k, v in kwargs.items()}})
                expected.append(encode(reference_fn(*args, **kwargs)))
            write({"call": n, "kind": "function", "rtol": rtol, "atol": atol,
                   "name": name or getattr(student_fn, "__name__", "your function"),
                   "cases": encoded, "expected": expected})
            real.check_function(student_fn, reference_fn, cases, name=name, rtol=rtol,
                                atol=atol)

        def check_scalar(answer, expected, name="your answer", rtol=1e-6, atol=1e-8):
            write({"call": next_call(), "kind": "scalar", "name": name,
                   "rtol": rtol, "atol": atol, "expected": encode(expected)})
            real.check_scalar(answer, expected, name=name, rtol=rtol, atol=atol)

        def check_array(answer, expected, name="your answer", rtol=1e-6, atol=1e-8):
            write({"call": next_call(), "kind": "array", "name": name,
                   "rtol": rtol, "atol": atol, "expected": encode(expected)})
            real.check_array(answer, expected, name=name, rtol=rtol, atol=atol)

        def check_choice(answer, correct, options, name="your prediction", explanation=""):
            write({"call": next_call(), "kind": "choice", "name": name,
                   "expected": encode(correct), "options": encode(list(options)),
                   "explanation": explanation})
            real.check_choice(answer, correct, options, name=name, explanation=explanation)
    else:
        def check_function(student_fn, *rest, **options):
            n = next_call()
            spec = calls[n] if n < len(calls) else None
            if spec is None or spec.get("kind") != "function":
                write({"call": n, "unexpected": "check_function"})
                return
            own_cases = options.get("cases", rest[1] if len(rest) > 1 else [])
            results = []
            for k, case in enumerate(spec["cases"]):
                try:
                    own = own_cases[k]
                except Exception:  # noqa: BLE001 - the cell's own cases are only a fallback
                    own = ()
                own_args, own_kwargs = split(own)
                own_args, own_kwargs = own_args or [], own_kwargs or {}
                args = [decode(a, own_args[i] if i < len(own_args) else None)
                        for i, a in enumerate(case["args"])]
                kwargs = {key: decode(v, own_kwargs.get(key)) for key, v in
                          case["kwargs"].items()}
                try:
                    value = student_fn(*args, **kwargs)
                except Exception as err:  # noqa: BLE001 - recorded; the grader judges it
                    results.append({"raised": type(err).__name__,
                                    "message": _error_text(err)})
                    break
                results.append(_safe_encode(value))
            write({"call": n, "results": results})

        def _answer(kind):
            def record(answer, *rest, **options):
                n = next_call()
                write({"call": n, "kind": kind, **_safe_encode(answer)})
            record.__name__ = "check_" + kind
            return record

        check_scalar, check_array, check_choice = (_answer("scalar"), _answer("array"),
                                                   _answer("choice"))
    user_ns.update(check_function=check_function, check_scalar=check_scalar,
                   check_array=check_array, check_choice=check_choice)


def uninstall():
    """Bind the real checks again (after a check cell), so a student's own calls behave."""
    from IPython import get_ipython
    import utils.checks as real
    get_ipython().user_ns.update(check_function=real.check_function,
                                 check_scalar=real.check_scalar,
                                 check_array=real.check_array,
                                 check_choice=real.check_choice)


def snapshot():
    """Remember the notebook's names (before an exercise cell)."""
    from IPython import get_ipython
    store = sys.modules.setdefault("__grader_names__", type(sys)("__grader_names__"))
    store.saved = {k: v for k, v in get_ipython().user_ns.items() if not k.startswith("_")}


def restore(keep, path):
    """Put back the names an exercise cell rebound, except ``keep`` (the exercise's own)."""
    from IPython import get_ipython
    user_ns = get_ipython().user_ns
    saved = getattr(sys.modules.get("__grader_names__"), "saved", {})
    missing = object()
    restored = sorted(k for k, v in saved.items()
                      if k not in keep and user_ns.get(k, missing) is not v)
    for k in restored:
        user_ns[k] = saved[k]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"restored": restored[:50]}) + "\n")
