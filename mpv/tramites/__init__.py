"""The use cases: one module per group of things a user does. Each action takes plain values and an
:class:`~mpv.engine.Actor` and returns a result or raises a domain error (:mod:`mpv.errors`); the web pages, the
JSON API and the ``mpv`` command only parse input, call one action and render what it returns."""
