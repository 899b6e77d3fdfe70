"""The tasking room: a Django web application over the package's public adapters (``pip install .[web]``).

Nothing here plans: views and jobs call :mod:`patrol_planner.scenario` and :class:`patrol_planner.plan.Plan`.
``patrol-planner serve`` sets the environment read by :mod:`.settings` (see :mod:`.runtime`), migrates,
and runs the task worker beside uvicorn. See ``docs/web.md``.
"""
