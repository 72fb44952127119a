"""The imsh language: a PowerShell subset (tokenizer, parser, evaluator, binder).

``shell.session.Session`` is the entry point; the modules here are its parts:

* ``lexer``/``tokens`` — mode-aware tokenizer (argument mode vs expression mode);
* ``parser``/``parse_expr``/``ast`` — recursive-descent parser producing nodes with extents;
* ``evaluator``/``expressions``/``pipeline``/``members``/``scope`` — the tree-walking runtime;
* ``binder``/``convert`` — parameter binding from a cmdlet's declaration;
* ``operators``/``textformat``/``statics`` — PowerShell operator, ``-f`` and .NET static semantics;
* ``errors``/``errorview`` — error records and their NormalView display.
"""
