"""Answer extraction, one module per answer format (runner layer, pure functions, no I/O).

``contract`` (the :class:`Extraction` result, versions, the never-raise guard), ``numbers``
(digit groups, canonical decimals, boxed contents), ``gsm8k`` (GSM8K and lenient numbers),
``math``, ``choice`` (multiple choice), ``modelswitch`` (ModelSwitch parity). The registry and
every public name are in :mod:`slmmux_run.sampling.extract`, the front door.
"""
